"""Reminders arrive at the right instant, in the right shape for every chat
kind (README "Chats"), with each department's local time and zone
abbreviation, across the 2026 daylight-saving changes in the US (8 March),
Europe (29 March) and Australia (5 April)."""

import os
import re

import harness
from harness import instant, rfc3339, when_pattern

# id: (chat, zone, name, mention, hook path or None for console)
DEPARTMENTS = {
    "ny": ("slack", "America/New_York", "Sales NY", "<!here>", "/ok/slack-ny"),
    "berlin": ("mattermost", "Europe/Berlin", "Märkte Berlin", "@channel", "/ok/mattermost-berlin"),
    "kolkata": ("rocketchat", "Asia/Kolkata", "Support Kolkata", None, "/ok/rocketchat-kolkata"),
    "sydney": ("discord", "Australia/Sydney", "Product Sydney", "@here", "/ok/discord-sydney"),
    "la": ("teams", "America/Los_Angeles", "Engineering LA", None, "/teams/la"),
    "london": ("googlechat", "Europe/London", "Finance London", None, "/ok/googlechat-london"),
    "tokyo": ("ntfy", "Asia/Tokyo", "Ops Tokyo", None, "/ok/ntfy-tokyo"),
    "saopaulo": ("generic", "America/Sao_Paulo", "Legal São Paulo", None, "/ok/generic-saopaulo"),
    "helsinki": ("console", "Europe/Helsinki", "Design Helsinki", None, None),
}

TITLE = 'Joint "planning" – Q1 Überblick'
LOCATION = "Room 4.2 / https://meet.example.com/q1"
DESCRIPTION = "Pipeline & campaign review; bring numbers."
NIGHT_TITLE = "Night ops handover"

WJ = "\u2060"


def shown(chat, text):
    """What a person reads, from a payload's text by the service's
    documented rules (README "Chats"), with tandem's bold markers removed:
    Slack's three entities, its date tokens whose fallback is one literal
    character and soft hyphens; Markdown's backslash escapes; word
    joiners, which are invisible."""
    if chat == "slack":
        text = re.sub(r"<!date\^00000000\^\{_\}\|(.)>", lambda m: {"*": "\x01"}.get(m.group(1), m.group(1)), text)
        text = text.replace("*", "").replace("\x01", "*").replace("\u00ad", "")
        return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    if chat in ("discord", "mattermost", "rocketchat"):
        text = re.sub(r"(?<!\\)\*", "", text)  # bold markers: every unescaped "*"
        return re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", text).replace(WJ, "")
    if chat == "googlechat":
        return re.sub(r"(?<!" + WJ + r")\*(?!" + WJ + r")", "", text).replace(WJ, "")
    return text


def config_text(sink, state_dir):
    parts = ["""
        [tandem]
        timezone = UTC
        domain = it.example
        state_dir = %s
        listen = off
        """ % state_dir]
    for id_, (chat, zone, name, mention, path) in DEPARTMENTS.items():
        s = "[department:%s]\nname = %s\ntimezone = %s\nchat = %s\n" % (id_, name, zone, chat)
        if path:
            s += "webhook = %s\n" % sink.hook(path)
        if mention:
            s += "mention = %s\n" % mention
        if id_ == "ny":
            s += "manager = Ada Lovelace <ada@it.example>\n"
        parts.append(s)
    parts.append("""
        [meeting:planning]
        title = %s
        departments = %s
        cadence = weekly
        day = monday
        time = 10:00
        duration = 1h
        timezone = America/New_York
        start = 2026-03-02
        location = %s
        description = %s
        host = ny
        remind = 15m

        [meeting:night]
        title = %s
        departments = ny, berlin, helsinki
        cadence = weekly
        day = sunday
        time = 01:30
        duration = 2h
        timezone = America/New_York
        start = 2026-03-08
        end = 2026-03-08
        remind = 15m
        """ % (TITLE, ", ".join(DEPARTMENTS), LOCATION, DESCRIPTION, NIGHT_TITLE))
    return harness.ini(*parts)


class Formats(harness.TestCase):
    def run_session(self, label, meeting, start, duration, departments, offset=900):
        """Runs the daemon from 10 s before a reminder is due until every
        department got it; returns (daemon, {dept: request}, {dept: console
        line}, ledger rows)."""
        d_dir = os.path.join(self.dir, label)
        os.mkdir(d_dir)
        state = os.path.join(d_dir, "state")
        config = os.path.join(d_dir, "tandem.ini")
        harness.write(config, config_text(self.sink, state))
        due = start - offset
        daemon = harness.Daemon(self, config, due - 10).start()
        hooks = {d: DEPARTMENTS[d][4] for d in departments if DEPARTMENTS[d][4]}
        consoles = [d for d in departments if not DEPARTMENTS[d][4]]
        ledger = harness.Ledger(state)
        daemon.advance(due + 60)
        self.assertTrue(all(self.sink.requests(p) for p in hooks.values()) and
                        len(ledger.with_status("sent")) == len(departments),
                        "%s: not every reminder arrived:\n%s" % (label, daemon.stderr()))
        daemon.stop()

        got = {}
        for dept, path in hooks.items():
            reqs = self.sink.requests(path)
            self.assertEqual(len(reqs), 1, "%s: %s got %d requests" % (label, dept, len(reqs)))
            got[dept] = reqs[0]
            # On time: when it left, on the daemon's clock.
            self.assertEqual(reqs[0].vtime, due, "%s: %s's reminder did not leave when due" % (label, dept))
        lines = {}
        for line in daemon.stdout().splitlines():
            m = re.match(r"\[([a-z0-9_-]+)\] ", line)
            self.assertTrue(m, "%s: console line without the [dept] prefix: %r" % (label, line))
            lines.setdefault(m.group(1), []).append(line)
        for dept in consoles:
            self.assertEqual(len(lines.get(dept, [])), 1, "%s: console lines: %r" % (label, lines))
            lines[dept] = lines[dept][0]
        self.assertEqual(set(lines), set(consoles), "%s: console lines for other departments" % label)

        rows = ledger.rows()
        self.assertEqual(len(rows), len(departments), rows)
        for r in rows:
            self.assertEqual((r["meeting"], r["start"], r["offset_s"]), (meeting, start, offset), r)
            self.assertEqual(r["status"], "sent", r)
            self.assertEqual(r["attempts"], 1, r)
            # The right instant: recorded as sent right after it was due.
            self.assertWithin(r["updated"], due, due + 3, "%s: %s sent at %s, due %s" % (
                label, r["department"], rfc3339(r["updated"]), rfc3339(due)))
            expected_status = None if DEPARTMENTS[r["department"]][0] == "console" else (
                202 if DEPARTMENTS[r["department"]][0] == "teams" else 200)
            self.assertEqual(r["http_status"], expected_status, r)
        return got, lines

    # ---- per-kind payloads --------------------------------------------

    def text_of(self, dept, req, line):
        """The reminder text from one department's payload, checking the
        payload's shape for its chat kind exactly."""
        chat = DEPARTMENTS[dept][0]
        if chat == "console":
            self.assertTrue(line.startswith("[%s] " % dept), line)
            self.assertNotIn("\n", line)
            return line[len(dept) + 3:]
        self.assertEqual(req.method, "POST")
        ctype = req.header("Content-Type") or ""
        if chat == "ntfy":
            self.assertTrue(ctype.startswith("text/plain"), ctype)
            self.assertEqual(req.header_text("Title"), self.title, "ntfy Title header")
            return req.text()
        self.assertTrue(ctype.startswith("application/json"), "%s: Content-Type %r" % (dept, ctype))
        body = req.json()
        if chat in ("slack", "mattermost", "rocketchat", "googlechat"):
            self.assertEqual(set(body), {"text"}, body)
            return shown(chat, body["text"])
        if chat == "discord":
            self.assertEqual(set(body), {"content", "allowed_mentions"}, body)
            # "@here" is this department's mention: it alone may ping.
            self.assertEqual(body["allowed_mentions"], {"parse": ["everyone"]}, body)
            return shown(chat, body["content"])
        if chat == "teams":
            # A Workflows webhook message carrying one Adaptive Card.
            self.assertEqual(body.get("type"), "message", body)
            self.assertEqual(len(body["attachments"]), 1, body)
            att = body["attachments"][0]
            self.assertEqual(att["contentType"], "application/vnd.microsoft.card.adaptive")
            card = att["content"]
            self.assertEqual(card["type"], "AdaptiveCard")
            self.assertIn("version", card)
            # One RichTextBlock a line (TextRuns take no Markdown): the
            # title as heading, then the text.
            blocks = card["body"]
            self.assertTrue(all(b.get("type") == "RichTextBlock" for b in blocks), card)
            lines = ["".join(run["text"] for run in b["inlines"]) for b in blocks]
            self.assertEqual(lines[0], self.title, card)
            return "\n".join(lines[1:])
        if chat == "generic":
            # README "Chats", exactly: these keys, these values; "host"
            # since the meeting has one (host = ny).
            self.assertEqual(set(body), {"type", "meeting", "title", "department", "start", "end", "before", "host",
                                         "text"}, body)
            self.assertEqual(body["host"], "ny")
            self.assertEqual(body["type"], "reminder")
            self.assertEqual(body["meeting"], self.meeting)
            self.assertEqual(body["title"], self.title)
            self.assertEqual(body["department"], dept)
            self.assertEqual(body["start"], rfc3339(self.start))
            self.assertEqual(body["end"], rfc3339(self.end))
            self.assertRegex(body["start"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
            self.assertEqual(body["before"], "15m")
            self.assertIsInstance(body["text"], str)
            return body["text"]
        self.fail("unknown chat %s" % chat)

    def check_text(self, dept, text, others, location=None, description=None):
        chat, zone, name, mention, _ = DEPARTMENTS[dept]
        if mention:
            self.assertTrue(text.startswith(mention), "%s: the mention must come first: %r" % (dept, text))
        self.assertIn(self.title, text, dept)
        self.assertIn("in 15 minutes", text, dept)
        self.assertRegex(text, when_pattern(self.start, self.end, zone),
                         "%s: wrong local time or zone in %r" % (dept, text))
        for other in others:
            self.assertIn(DEPARTMENTS[other][2], text, "%s: other department missing" % dept)
        self.assertNotIn(name, text, "%s: its own name listed among the others" % dept)
        if location:
            self.assertIn(location, text, dept)
        if description:
            self.assertIn(description, text, dept)

    def check_all(self, got, lines, departments, location=None, description=None):
        for dept in departments:
            text = self.text_of(dept, got.get(dept), lines.get(dept))
            self.check_text(dept, text, [o for o in departments if o != dept], location, description)
            self.texts[dept] = text

    def planning_week(self, label, start):
        self.meeting, self.title = "planning", TITLE
        self.start, self.end = start, start + 3600
        self.texts = {}
        got, lines = self.run_session(label, "planning", start, 3600, list(DEPARTMENTS))
        self.check_all(got, lines, list(DEPARTMENTS), LOCATION, DESCRIPTION)
        return self.texts

    # ---- the tests ------------------------------------------------------

    def test_1_before_us_dst(self):
        """Mon 2 Mar 2026: 10:00 EST in New York, 16:00 CET in Berlin."""
        t = self.planning_week("w1", instant("2026-03-02T15:00:00Z"))
        self.assertIn("10:00-11:00 EST", t["ny"])
        self.assertNotIn("EDT", t["ny"])
        self.assertIn("16:00-17:00 CET", t["berlin"])
        self.assertIn("Tue 3 Mar", t["sydney"])  # 02:00 AEDT the next day
        self.assertIn("AEDT", t["sydney"])

    def test_2_after_us_dst(self):
        """Mon 9 Mar 2026: still 10:00 in New York, now EDT; Berlin sees
        15:00 CET, an hour earlier, because Europe has not changed yet."""
        t = self.planning_week("w2", instant("2026-03-09T14:00:00Z"))
        self.assertIn("10:00-11:00 EDT", t["ny"])
        self.assertNotIn("EST", t["ny"])
        self.assertIn("15:00-16:00 CET", t["berlin"])
        self.assertIn("07:00-08:00 PDT", t["la"])
        self.assertIn("14:00-15:00 GMT", t["london"])

    def test_3_after_eu_dst(self):
        """Mon 30 Mar 2026: Europe changed on the 29th: 16:00 CEST."""
        t = self.planning_week("w3", instant("2026-03-30T14:00:00Z"))
        self.assertIn("10:00-11:00 EDT", t["ny"])
        self.assertIn("16:00-17:00 CEST", t["berlin"])
        self.assertIn("15:00-16:00 BST", t["london"])
        self.assertIn("17:00-18:00 EEST", t["helsinki"])

    def test_4_after_au_dst(self):
        """Mon 6 Apr 2026: Sydney left daylight time on the 5th."""
        t = self.planning_week("w4", instant("2026-04-06T14:00:00Z"))
        self.assertIn("Tue 7 Apr", t["sydney"])
        self.assertIn("00:00-01:00 AEST", t["sydney"])
        self.assertNotIn("AEDT", t["sydney"])

    def test_5_meeting_across_the_change(self):
        """Sun 8 Mar 2026 01:30 New York time for two hours crosses the
        spring forward at 02:00: the text shows both abbreviations, 01:30
        EST and 04:30 EDT (two real hours later)."""
        self.meeting, self.title = "night", NIGHT_TITLE
        self.start = instant("2026-03-08T06:30:00Z")
        self.end = self.start + 7200
        self.texts = {}
        depts = ["ny", "berlin", "helsinki"]
        got, lines = self.run_session("night", "night", self.start, 7200, depts)
        self.check_all(got, lines, depts)
        self.assertRegex(self.texts["ny"], r"01:30 EST.*04:30 EDT")
        self.assertIn("07:30-09:30 CET", self.texts["berlin"])


if __name__ == "__main__":
    harness.main()
