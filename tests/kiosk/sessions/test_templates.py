import json
import string

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from kiosk.sessions import templates
from kiosk.flow import InterviewPlan
from kiosk.sessions.templates import TemplateError

pytestmark = pytest.mark.pure     # no outside part: no PulseAudio is started for these alone


def test_sample_templates_load_and_become_plans():
    paths = templates.sample_paths()
    assert {p.suffix for p in paths} == {".toml", ".json"}
    for path in paths:
        template = templates.load(path)
        assert template.questions and template.consent_text.strip()
        plan = template.to_plan(code="AB12", ref=7)
        assert isinstance(plan, InterviewPlan)
        assert [q.text for q in plan.questions] == [q.text for q in template.questions]
        assert (plan.code, plan.ref) == ("AB12", 7)
        assert [q.answer_s for q in plan.questions] == [q.answer_s for q in template.questions]
        # the canonical JSON form loads back to the same template
        assert templates.parse(template.to_json(), "json") == template


TOML_WITH_PROBLEMS = """\
[template]
name = "a b"
consent_text = ""

[[questions]]
text = "First"
answer_s = 2
retake = 1

[[questions]]
text = 3
"""


def test_toml_errors_name_line_and_field():
    with pytest.raises(TemplateError) as err:
        templates.parse(TOML_WITH_PROBLEMS, "toml", "bad.toml")
    found = {(p.line, p.field) for p in err.value.problems}
    assert found == {(2, "template.name"), (3, "template.consent_text"), (7, "questions[0].answer_s"),
                     (8, "questions[0].retake"), (11, "questions[1].text")}
    message = str(err.value)
    assert "bad.toml:8: questions[0].retake: unknown field. Did you mean 'retakes'?" in message
    assert "bad.toml:7: questions[0].answer_s: = 2 is out of range. Fix: use 5 to 3600." in message


def test_json_errors_name_line_and_field():
    text = ('{"template": {"name": "ok", "consent_text": "c"},\n'
            ' "questions": [\n'
            '  {"text": "a"},\n'
            '  {"text": "b",\n'
            '   "think_s": -1, "retakes": true}]}')
    with pytest.raises(TemplateError) as err:
        templates.parse(text, "json", "bad.json")
    assert {(p.line, p.field) for p in err.value.problems} == {(5, "questions[1].think_s"),
                                                               (5, "questions[1].retakes")}


def test_syntax_errors_carry_the_line():
    with pytest.raises(TemplateError) as err:
        templates.parse('[template]\nname = "x"\nconsent_text = "unterminated\n', "toml", "s.toml")
    assert err.value.problems[0].line == 3 and err.value.problems[0].field == "(syntax)"
    with pytest.raises(TemplateError) as err:
        templates.parse('{\n"template": {\n"name": "x",,\n}}', "json", "s.json")
    assert err.value.problems[0].line == 3


def test_missing_parts_and_reserved_name():
    with pytest.raises(TemplateError) as err:
        templates.parse('[template]\nname = "cli"\nconsent_text = "ok"\n', "toml", "r.toml")
    fields = {p.field: p.message for p in err.value.problems}
    assert "reserved" in fields["template.name"] and "at least one question" in fields["questions"]
    with pytest.raises(TemplateError, match="template: is missing"):
        templates.parse('[[questions]]\ntext = "q"\n', "toml")


def test_control_characters_and_wrong_file_types(tmp_path):
    with pytest.raises(TemplateError, match="U\\+0000"):
        templates.parse(json.dumps({"template": {"name": "n", "consent_text": "c"},
                                    "questions": [{"text": "nul\x00here"}]}), "json")
    odd = tmp_path / "t.yaml"
    odd.write_text("x")
    with pytest.raises(TemplateError, match="unknown file type"):
        templates.load(odd)
    latin = tmp_path / "t.toml"
    latin.write_bytes(b'[template]\nname = "caf\xe9"\n')
    with pytest.raises(TemplateError) as err:
        templates.load(latin)
    assert err.value.problems[0].line == 2 and "UTF-8" in str(err.value)


# ---- properties -----------------------------------------------------------------------------------------------

safe_text = st.text(st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\x7f") |
                    st.sampled_from("\n\t"), min_size=1, max_size=300).filter(lambda s: s.strip())
names = st.text(string.ascii_letters + string.digits + "._-", min_size=1, max_size=64).filter(
    lambda s: s[0].isalnum() and s != "cli")
question = st.fixed_dictionaries(
    {"text": safe_text},
    optional={"think_s": st.integers(0, 600) | st.floats(0, 600),
              "answer_s": st.integers(5, 3600) | st.floats(5, 3600),
              "retakes": st.integers(0, 10)})
bodies = st.fixed_dictionaries({
    "template": st.fixed_dictionaries({"name": names, "consent_text": safe_text},
                                      optional={"title": safe_text.filter(lambda s: len(s) <= 200),
                                                "consent_version": st.text("0123456789.-", min_size=1,
                                                                           max_size=10)}),
    "questions": st.lists(question, min_size=1, max_size=8)})


def _toml_string(value: str) -> str:
    # JSON string syntax is TOML basic-string syntax once DEL is escaped too (TOML requires it).
    return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007F")


def _to_toml(body: dict) -> str:
    def pairs(table):
        return "".join(f"{k} = {_toml_string(v) if isinstance(v, str) else repr(v)}\n" for k, v in table.items())
    text = "[template]\n" + pairs(body["template"])
    for item in body["questions"]:
        text += "\n[[questions]]\n" + pairs(item)
    return text


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(bodies)
def test_any_valid_template_parses_the_same_from_toml_and_json(body):
    from_json = templates.parse(json.dumps(body, ensure_ascii=False), "json")
    from_toml = templates.parse(_to_toml(body), "toml")
    assert from_json == from_toml
    assert [q.text for q in from_json.questions] == [q["text"] for q in body["questions"]]
    assert templates.from_dict(from_json.to_dict()) == from_json
    assert from_json.to_plan().questions[0].text == body["questions"][0]["text"]


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=2000), st.sampled_from(["toml", "json"]))
def test_arbitrary_text_gives_a_template_or_a_template_error(text, fmt):
    try:
        templates.parse(text, fmt)
    except TemplateError as exc:
        assert exc.problems and all(p.field for p in exc.problems)


leaf = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=50)
json_values = st.recursive(leaf, lambda children: st.lists(children, max_size=4) |
                           st.dictionaries(st.text(max_size=10), children, max_size=4), max_leaves=20)


@settings(max_examples=200, deadline=None)
@given(st.fixed_dictionaries({}, optional={"template": json_values | st.fixed_dictionaries(
           {"name": json_values, "consent_text": json_values}), "questions": json_values,
           "practice": json_values}))
def test_arbitrary_structures_never_crash_the_validator(body):
    try:
        text = json.dumps(body)
    except ValueError:
        return
    try:
        templates.parse(text, "json")
    except TemplateError as exc:
        for problem in exc.problems:
            assert problem.line is None or 1 <= problem.line <= text.count("\n") + 1


@settings(max_examples=30, deadline=None)
@given(st.text(min_size=1, max_size=20), st.integers(4001, 50_000))
def test_huge_or_nul_question_text_is_refused_with_its_field(chunk, size):
    text = (chunk * (size // len(chunk) + 1))[:size]
    body = {"template": {"name": "huge", "consent_text": "c"}, "questions": [{"text": "ok"}, {"text": text}]}
    with pytest.raises(TemplateError) as err:
        templates.parse(json.dumps(body), "json")
    assert err.value.problems[0].field == "questions[1].text"
