<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="de_DE">
<context>
    <name>Attract</name>
    <message>
        <location filename="../../ui/screens/simple.py" line="21"/>
        <source>Share your story</source>
        <translation>Erzählen Sie Ihre Geschichte</translation>
    </message>
    <message>
        <location filename="../../ui/screens/simple.py" line="22"/>
        <source>We would love to hear from you. It takes about ten minutes.</source>
        <translation>Wir möchten gern von Ihnen hören. Es dauert etwa zehn Minuten.</translation>
    </message>
    <message>
        <location filename="../../ui/screens/simple.py" line="23"/>
        <source>Touch here to start</source>
        <translation>Zum Starten hier berühren</translation>
    </message>
    <message>
        <location filename="../../ui/screens/simple.py" line="29"/>
        <source>Admin console: not set up. Staff: set a PIN with &apos;kiosk admin set-pin&apos;.</source>
        <translation>Admin-Konsole: nicht eingerichtet. Personal: PIN mit &apos;kiosk admin set-pin&apos; setzen.</translation>
    </message>
</context>
<context>
    <name>CameraToggle</name>
    <message>
        <location filename="../../ui/widgets/camera_toggle.py" line="37"/>
        <source>Camera on</source>
        <translation>Kamera an</translation>
    </message>
    <message>
        <location filename="../../ui/widgets/camera_toggle.py" line="37"/>
        <source>Camera off - audio only</source>
        <translation>Kamera aus - nur Ton</translation>
    </message>
</context>
<context>
    <name>Code</name>
    <message>
        <location filename="../../ui/screens/code.py" line="20"/>
        <source>Please enter your interview code</source>
        <translation>Bitte geben Sie Ihren Interview-Code ein</translation>
    </message>
    <message>
        <location filename="../../ui/screens/code.py" line="26"/>
        <source>Back</source>
        <translation>Zurück</translation>
    </message>
    <message>
        <location filename="../../ui/screens/code.py" line="27"/>
        <source>I have no code</source>
        <translation>Ich habe keinen Code</translation>
    </message>
    <message>
        <location filename="../../ui/screens/code.py" line="37"/>
        <source>That code was not found. Please check it and try again.</source>
        <translation>Dieser Code wurde nicht gefunden. Bitte prüfen Sie ihn und versuchen Sie es erneut.</translation>
    </message>
    <message>
        <location filename="../../ui/screens/code.py" line="39"/>
        <source>Too many wrong codes. Please wait a moment before you try again, or ask a member of staff.</source>
        <translation>Zu viele falsche Codes. Bitte warten Sie einen Moment, bevor Sie es erneut versuchen, oder fragen Sie das Personal.</translation>
    </message>
</context>
<context>
    <name>ConfigError</name>
    <message>
        <location filename="../../ui/screens/config_error.py" line="34"/>
        <source>Interview kiosk: settings error</source>
        <translation>Interview-Kiosk: Fehler in den Einstellungen</translation>
    </message>
    <message>
        <location filename="../../ui/screens/config_error.py" line="40"/>
        <source>This kiosk is not set up correctly.</source>
        <translation>Dieser Kiosk ist nicht richtig eingerichtet.</translation>
    </message>
    <message>
        <location filename="../../ui/screens/config_error.py" line="42"/>
        <source>Please ask a member of staff.</source>
        <translation>Bitte fragen Sie das Personal.</translation>
    </message>
    <message>
        <location filename="../../ui/screens/config_error.py" line="46"/>
        <source>For staff: correct the file (check it with
kiosk config check {file}).
The kiosk starts by itself once the file is valid.</source>
        <translation>Für das Personal: Datei korrigieren (prüfen mit
kiosk config check {file}).
Der Kiosk startet von selbst, sobald die Datei gültig ist.</translation>
    </message>
</context>
<context>
    <name>Consent</name>
    <message>
        <location filename="../../ui/screens/simple.py" line="58"/>
        <source>Before we start</source>
        <translation>Bevor wir beginnen</translation>
    </message>
    <message>
        <location filename="../../ui/screens/simple.py" line="64"/>
        <source>No, thank you</source>
        <translation>Nein, danke</translation>
    </message>
    <message>
        <location filename="../../ui/screens/simple.py" line="65"/>
        <source>I agree, let&apos;s start</source>
        <translation>Ich stimme zu, los geht&apos;s</translation>
    </message>
</context>
<context>
    <name>Declined</name>
    <message>
        <location filename="../../ui/screens/simple.py" line="87"/>
        <source>No problem at all.</source>
        <translation>Kein Problem.</translation>
    </message>
    <message>
        <location filename="../../ui/screens/simple.py" line="88"/>
        <source>Nothing was recorded. Thank you for stopping by.</source>
        <translation>Es wurde nichts aufgenommen. Danke für Ihren Besuch.</translation>
    </message>
    <message>
        <location filename="../../ui/screens/simple.py" line="91"/>
        <source>Back to the start</source>
        <translation>Zurück zum Anfang</translation>
    </message>
</context>
<context>
    <name>DeviceCheck</name>
    <message>
        <location filename="../../ui/screens/device_check.py" line="27"/>
        <source>Can we see and hear you?</source>
        <translation>Können wir Sie sehen und hören?</translation>
    </message>
    <message>
        <location filename="../../ui/screens/device_check.py" line="28"/>
        <source>Check that your face is in the picture and the bar moves when you speak.</source>
        <translation>Prüfen Sie, ob Ihr Gesicht im Bild ist und der Balken sich beim Sprechen bewegt.</translation>
    </message>
    <message>
        <location filename="../../ui/screens/device_check.py" line="30"/>
        <source>Sit about an arm&apos;s length from the screen, facing it. Speak normally: the bar should move. If the picture or the sound stays wrong, please ask a member of staff.</source>
        <translation>Setzen Sie sich etwa eine Armlänge vor den Bildschirm. Sprechen Sie normal: Der Balken sollte sich bewegen. Wenn Bild oder Ton nicht stimmen, fragen Sie bitte das Personal.</translation>
    </message>
    <message>
        <location filename="../../ui/screens/device_check.py" line="35"/>
        <source>Record a 3 s test</source>
        <translation>3-s-Test aufnehmen</translation>
    </message>
    <message>
        <location filename="../../ui/screens/device_check.py" line="36"/>
        <source>It&apos;s not right</source>
        <translation>Es stimmt nicht</translation>
    </message>
    <message>
        <location filename="../../ui/screens/device_check.py" line="37"/>
        <source>Looks good</source>
        <translation>Sieht gut aus</translation>
    </message>
</context>
<context>
    <name>Failsafe</name>
    <message>
        <location filename="../../ui/screens/simple.py" line="127"/>
        <source>Sorry, something went wrong.</source>
        <translation>Entschuldigung, etwas ist schiefgelaufen.</translation>
    </message>
    <message>
        <location filename="../../ui/screens/simple.py" line="128"/>
        <source>Anything recorded so far has been kept safe. Please ask a member of staff for help.</source>
        <translation>Alles bisher Aufgenommene ist sicher gespeichert. Bitte fragen Sie das Personal um Hilfe.</translation>
    </message>
    <message>
        <location filename="../../ui/screens/simple.py" line="137"/>
        <source>Restarting in {n} s</source>
        <translation>Neustart in {n} s</translation>
    </message>
</context>
<context>
    <name>Indicator</name>
    <message>
        <location filename="../../ui/widgets/indicator.py" line="50"/>
        <source>REC</source>
        <translation>AUFNAHME</translation>
    </message>
    <message>
        <location filename="../../ui/widgets/indicator.py" line="52"/>
        <source>PRACTICE - not recorded</source>
        <translation>ÜBUNG - wird nicht aufgenommen</translation>
    </message>
    <message>
        <location filename="../../ui/widgets/indicator.py" line="54"/>
        <source>Paused</source>
        <translation>Pausiert</translation>
    </message>
    <message>
        <location filename="../../ui/widgets/indicator.py" line="59"/>
        <source>{time} left</source>
        <translation>noch {time}</translation>
    </message>
</context>
<context>
    <name>Keypad</name>
    <message>
        <location filename="../../ui/widgets/keypad.py" line="27"/>
        <source>Delete</source>
        <translation>Löschen</translation>
    </message>
    <message>
        <location filename="../../ui/widgets/keypad.py" line="27"/>
        <source>OK</source>
        <translation>OK</translation>
    </message>
</context>
<context>
    <name>KioskApp</name>
    <message>
        <location filename="../../ui/main_window.py" line="40"/>
        <source>DEMO camera</source>
        <translation>DEMO-Kamera</translation>
    </message>
    <message>
        <location filename="../../ui/main_window.py" line="41"/>
        <source>DEMO microphone</source>
        <translation>DEMO-Mikrofon</translation>
    </message>
    <message>
        <location filename="../../ui/main_window.py" line="42"/>
        <source>DEMO camera and microphone</source>
        <translation>DEMO-Kamera und -Mikrofon</translation>
    </message>
</context>
<context>
    <name>KioskWindow</name>
    <message>
        <location filename="../../ui/main_window.py" line="34"/>
        <source>This booth is not ready: the camera is not connected. Please ask a member of staff.</source>
        <translation>Diese Kabine ist nicht bereit: Die Kamera ist nicht angeschlossen. Bitte fragen Sie das Personal.</translation>
    </message>
    <message>
        <location filename="../../ui/main_window.py" line="36"/>
        <source>This booth is not ready: the microphone is not connected. Please ask a member of staff.</source>
        <translation>Diese Kabine ist nicht bereit: Das Mikrofon ist nicht angeschlossen. Bitte fragen Sie das Personal.</translation>
    </message>
    <message>
        <location filename="../../ui/main_window.py" line="38"/>
        <source>This booth is not ready: the camera is not connected and the microphone is not connected. Please ask a member of staff.</source>
        <translation>Diese Kabine ist nicht bereit: Kamera und Mikrofon sind nicht angeschlossen. Bitte fragen Sie das Personal.</translation>
    </message>
    <message>
        <location filename="../../ui/main_window.py" line="82"/>
        <source>Interview kiosk</source>
        <translation>Interview-Kiosk</translation>
    </message>
    <message>
        <location filename="../../ui/main_window.py" line="311"/>
        <source>The camera has stopped. We keep recording your voice; please wait or ask for help.</source>
        <translation>Die Kamera ist ausgefallen. Ihre Stimme wird weiter aufgenommen; bitte warten Sie oder fragen Sie nach Hilfe.</translation>
    </message>
    <message>
        <location filename="../../ui/main_window.py" line="313"/>
        <source>The microphone has stopped. Please ask a member of staff for help.</source>
        <translation>Das Mikrofon ist ausgefallen. Bitte fragen Sie das Personal um Hilfe.</translation>
    </message>
    <message>
        <location filename="../../ui/main_window.py" line="314"/>
        <source>The kiosk is running out of space. Your recording so far has been saved.</source>
        <translation>Der Speicher des Kiosks ist fast voll. Ihre bisherige Aufnahme wurde gespeichert.</translation>
    </message>
    <message>
        <location filename="../../ui/main_window.py" line="326"/>
        <location filename="../../ui/main_window.py" line="345"/>
        <source>The camera is back.</source>
        <translation>Die Kamera ist wieder da.</translation>
    </message>
    <message>
        <location filename="../../ui/main_window.py" line="327"/>
        <location filename="../../ui/main_window.py" line="346"/>
        <source>The microphone is back.</source>
        <translation>Das Mikrofon ist wieder da.</translation>
    </message>
    <message>
        <location filename="../../ui/screens/device_check.py" line="88"/>
        <source>Recording a short test... say something!</source>
        <translation>Kurzer Test läuft ... sagen Sie etwas!</translation>
    </message>
    <message>
        <location filename="../../ui/screens/device_check.py" line="132"/>
        <source>Playing it back...</source>
        <translation>Wiedergabe ...</translation>
    </message>
    <message>
        <location filename="../../ui/screens/device_check.py" line="151"/>
        <source>Did you see and hear yourself? If not, press &quot;It&apos;s not right&quot;.</source>
        <translation>Haben Sie sich gesehen und gehört? Wenn nicht, drücken Sie &quot;Es stimmt nicht&quot;.</translation>
    </message>
</context>
<context>
    <name>Question</name>
    <message>
        <location filename="../../ui/screens/media.py" line="64"/>
        <source>Skip practice</source>
        <translation>Übung überspringen</translation>
    </message>
    <message>
        <location filename="../../ui/screens/media.py" line="67"/>
        <source>I&apos;m ready</source>
        <translation>Ich bin bereit</translation>
    </message>
    <message>
        <location filename="../../ui/screens/media.py" line="69"/>
        <source>Done</source>
        <translation>Fertig</translation>
    </message>
    <message>
        <location filename="../../ui/screens/media.py" line="86"/>
        <source>Practice question - this answer is not kept</source>
        <translation>Übungsfrage - diese Antwort wird nicht gespeichert</translation>
    </message>
    <message>
        <location filename="../../ui/screens/media.py" line="89"/>
        <source>Question {n} of {total}</source>
        <translation>Frage {n} von {total}</translation>
    </message>
    <message>
        <location filename="../../ui/screens/media.py" line="100"/>
        <source>Start this answer again ({n} left)</source>
        <translation>Antwort neu beginnen (noch {n})</translation>
    </message>
    <message>
        <location filename="../../ui/screens/media.py" line="102"/>
        <source>Recording starts in {n} s</source>
        <translation>Aufnahme beginnt in {n} s</translation>
    </message>
    <message>
        <location filename="../../ui/screens/media.py" line="104"/>
        <source>Practice starts in {n} s</source>
        <translation>Übung beginnt in {n} s</translation>
    </message>
</context>
<context>
    <name>Saving</name>
    <message>
        <location filename="../../ui/screens/simple.py" line="102"/>
        <source>Saving your interview...</source>
        <translation>Ihr Interview wird gespeichert ...</translation>
    </message>
    <message>
        <location filename="../../ui/screens/simple.py" line="103"/>
        <source>Please wait a moment. Your recording is kept safe.</source>
        <translation>Einen Moment bitte. Ihre Aufnahme ist sicher.</translation>
    </message>
</context>
<context>
    <name>Thanks</name>
    <message>
        <location filename="../../ui/screens/simple.py" line="116"/>
        <source>Thank you!</source>
        <translation>Vielen Dank!</translation>
    </message>
    <message>
        <location filename="../../ui/screens/simple.py" line="117"/>
        <source>Your interview has been saved.</source>
        <translation>Ihr Interview wurde gespeichert.</translation>
    </message>
    <message>
        <location filename="../../ui/screens/simple.py" line="119"/>
        <source>Finish</source>
        <translation>Beenden</translation>
    </message>
</context>
<context>
    <name>Unavailable</name>
    <message>
        <location filename="../../ui/screens/simple.py" line="147"/>
        <source>This kiosk cannot record right now.</source>
        <translation>Dieser Kiosk kann gerade nicht aufnehmen.</translation>
    </message>
    <message>
        <location filename="../../ui/screens/simple.py" line="149"/>
        <source>Please ask a member of staff.</source>
        <translation>Bitte fragen Sie das Personal.</translation>
    </message>
</context>
</TS>
