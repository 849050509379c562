"""The screens without devices: attract, consent, declined, saving, thank you, failsafe, cannot record."""

from __future__ import annotations

import math

from PySide6.QtCore import QCoreApplication, Qt
from PySide6.QtWidgets import QHBoxLayout, QProgressBar, QTextBrowser

from kiosk.flow import Event, Snapshot
from ui.screens.base import Screen, guarded

translate = QCoreApplication.translate   # lupdate finds translate("Context", "text") calls


class AttractScreen(Screen):
    """Welcome: the whole screen is one big touch target."""

    def __init__(self, unit: int, parent=None) -> None:
        super().__init__(unit, parent)
        self.title = self.label(translate("Attract", "Share your story"), "big", "attract_title")
        self.hint = self.label(translate("Attract", "We would love to hear from you. It takes about ten minutes."), "title")
        self.start = self.button(translate("Attract", "Touch here to start"), "start", event=Event.START,
                                 role="primary")
        self.start.setMinimumHeight(unit * 4)
        # Said to whoever stands there when a device is missing (kiosk.capture.health); no interview starts then.
        self.not_ready = self.label("", "notice", "not_ready")
        self.not_ready.hide()
        self.admin_unset = self.label(translate("Attract", "Admin console: not set up. Staff: set a PIN with "
                                                           "'kiosk admin set-pin'."), "hint", "admin_not_set_up")
        self.admin_unset.hide()
        self.layout_.addStretch(2)
        self.layout_.addWidget(self.title)
        self.layout_.addWidget(self.hint)
        self.layout_.addStretch(1)
        self.layout_.addWidget(self.start)
        self.layout_.addWidget(self.not_ready)
        self.layout_.addStretch(2)
        self.layout_.addWidget(self.admin_unset)

    def set_not_ready(self, notice: str) -> None:
        """Empty when the booth is ready; else the words shown instead of the start button."""
        self.not_ready.setText(notice)
        self.not_ready.setVisible(bool(notice))
        self.start.setVisible(not notice)
        self.hint.setVisible(not notice)

    def show_admin_not_set_up(self, shown: bool) -> None:
        self.admin_unset.setVisible(shown)

    def mousePressEvent(self, event) -> None:   # anywhere on the welcome screen starts
        guarded(lambda: self.send(Event.START))()


class ConsentScreen(Screen):
    def __init__(self, unit: int, parent=None) -> None:
        super().__init__(unit, parent)
        self.title = self.label(translate("Consent", "Before we start"), "title", "consent_title")
        self.text = QTextBrowser()
        self.text.setObjectName("consent_text")
        self.text.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.text.setOpenLinks(False)
        row = QHBoxLayout()
        self.decline = self.button(translate("Consent", "No, thank you"), "decline", event=Event.DECLINE)
        self.accept = self.button(translate("Consent", "I agree, let's start"), "accept", event=Event.ACCEPT,
                                  role="primary")
        row.addWidget(self.decline)
        row.addWidget(self.accept)
        self.layout_.addWidget(self.title)
        self.layout_.addWidget(self.text, 1)
        self.layout_.addLayout(row)

    def update_from(self, snapshot: Snapshot, now: float) -> None:
        plan = snapshot.plan
        text = plan.consent_text if plan else ""
        if self.text.toPlainText() != text:
            self.text.setPlainText(text)

    def forget(self) -> None:
        self.text.clear()


class DeclinedScreen(Screen):
    def __init__(self, unit: int, parent=None) -> None:
        super().__init__(unit, parent)
        self.layout_.addStretch(1)
        self.layout_.addWidget(self.label(translate("Declined", "No problem at all."), "big", "declined_title"))
        self.layout_.addWidget(self.label(translate("Declined", "Nothing was recorded. Thank you for stopping by."),
                                          "title"))
        self.layout_.addStretch(1)
        self.layout_.addWidget(self.button(translate("Declined", "Back to the start"), "declined_home",
                                           on_click=lambda: self.send(Event.BACK_HOME)))


class SavingScreen(Screen):
    def __init__(self, unit: int, parent=None) -> None:
        super().__init__(unit, parent)
        self.progress = QProgressBar()
        self.progress.setObjectName("save_progress")
        self.progress.setRange(0, 100)
        self.layout_.addStretch(1)
        self.layout_.addWidget(self.label(translate("Saving", "Saving your interview..."), "big", "saving_title"))
        self.layout_.addWidget(self.label(translate("Saving", "Please wait a moment. Your recording is kept safe."),
                                          "title"))
        self.layout_.addWidget(self.progress)
        self.layout_.addStretch(1)

    def update_from(self, snapshot: Snapshot, now: float) -> None:
        self.progress.setValue(round(100 * max(0.0, min(1.0, snapshot.save_progress))))


class ThanksScreen(Screen):
    def __init__(self, unit: int, parent=None) -> None:
        super().__init__(unit, parent)
        self.layout_.addStretch(1)
        self.layout_.addWidget(self.label(translate("Thanks", "Thank you!"), "big", "thanks_title"))
        self.layout_.addWidget(self.label(translate("Thanks", "Your interview has been saved."), "title"))
        self.layout_.addStretch(1)
        self.layout_.addWidget(self.button(translate("Thanks", "Finish"), "thanks_home",
                                           on_click=lambda: self.send(Event.BACK_HOME)))


class FailsafeScreen(Screen):
    def __init__(self, unit: int, parent=None) -> None:
        super().__init__(unit, parent)
        self.layout_.addStretch(1)
        self.layout_.addWidget(self.label(translate("Failsafe", "Sorry, something went wrong."), "big", "failsafe_title"))
        self.layout_.addWidget(self.label(translate("Failsafe", "Anything recorded so far has been kept safe. "
                                                         "Please ask a member of staff for help."), "title"))
        self.countdown = self.label("", "hint", "failsafe_countdown")
        self.layout_.addWidget(self.countdown)
        self.layout_.addStretch(1)

    def update_from(self, snapshot: Snapshot, now: float) -> None:
        if snapshot.deadline is not None:
            seconds = max(0, math.ceil(snapshot.deadline - now))
            self.countdown.setText(translate("Failsafe", "Restarting in {n} s").format(n=seconds))


class UnavailableScreen(Screen):
    """The kiosk cannot record right now (not enough disk space). Calm words for the candidate; the figures and the
    fix are in the log and the audit log for staff. Back to the welcome screen after a timeout."""

    def __init__(self, unit: int, parent=None) -> None:
        super().__init__(unit, parent)
        self.layout_.addStretch(1)
        self.layout_.addWidget(self.label(translate("Unavailable", "This kiosk cannot record right now."), "big",
                                          "unavailable_title"))
        self.layout_.addWidget(self.label(translate("Unavailable", "Please ask a member of staff."), "title",
                                          "unavailable_hint"))
        self.layout_.addStretch(1)
