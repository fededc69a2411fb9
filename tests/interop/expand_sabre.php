<?php
// Expands an iCalendar feed with sabre/vobject (Debian's php-sabre-vobject,
// the library CalDAV servers built on sabre/dav use, among them Nextcloud and
// Baikal, to expand events), independently of tandem and libical.
//
//     php expand_sabre.php FEED.ics FROM TO
//
// FROM and TO are RFC 3339 instants ("2026-01-01T00:00:00Z"). Prints a JSON
// array of the occurrences that START in [FROM, TO), in the shape of
// `tandem preview --json` reduced to what the feed carries:
//
//     {"meeting": "<UID before the @>", "uid": UID,
//      "start": "<UTC, RFC 3339 with Z>", "end": "<UTC>"}
//
// sorted by (start, meeting). It uses VCalendar::expand(), which is what a
// CalDAV server answers an expand request with: every instance as its own
// VEVENT in UTC. A TZID names a PHP DateTimeZone (the system tzdata; the
// feed's VTIMEZONEs are read only for names PHP does not know), and the
// instances are stepped in PHP's wall-clock DateTime arithmetic. Overrides
// (RECURRENCE-ID) are sabre's to apply: RecurrenceIterator skips the
// instances their RECURRENCE-IDs name and lists each override at its own
// DTSTART (run_interop.py lists where it misses: at DTSTART, at a doubled
// local time).

$includes = 'Sabre/VObject/includes.php';
if (!@include_once($includes)) {
    fwrite(STDERR, "expand_sabre.php: cannot load $includes: install Debian's php-sabre-vobject " .
        "(apt-get install php-cli php-sabre-vobject, or scripts/install-deps --test)\n");
    exit(1);
}

function die_with($msg)
{
    fwrite(STDERR, "expand_sabre.php: $msg\n");
    exit(1);
}

function instant($s)
{
    if (!preg_match('/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/', $s))
        die_with("not an RFC 3339 UTC instant: $s");
    return new DateTime($s, new DateTimeZone('UTC'));
}

function rfc3339(DateTime $t)
{
    $u = clone $t;
    $u->setTimezone(new DateTimeZone('UTC'));
    return $u->format('Y-m-d\TH:i:s\Z');
}

if ($argc != 4)
    die_with("usage: expand_sabre.php FEED.ics FROM TO");
$from = instant($argv[2]);
$to = instant($argv[3]);
// As in the other expanders: a margin around the window, and the UTC start
// alone decides what is listed.
$margin = new DateInterval('P3D');
$cal = Sabre\VObject\Reader::read(file_get_contents($argv[1]));
// sabre/vobject 2.1.7 loops forever on BYSETPOS=-2 and below:
// RecurrenceIterator::getMonthlyOccurrences() computes the index as
// count($result)-($setPos+1), past the end, so no month ever has an
// occurrence. A server would time out; leave such events out (and say so).
foreach ($cal->children as $key => $child) {
    if ($child->name === 'VEVENT' && isset($child->RRULE) &&
        preg_match('/BYSETPOS=([^;]*)/i', (string)$child->RRULE, $m) &&
        min(array_map('intval', explode(',', $m[1]))) <= -2) {
        fwrite(STDERR, "expand_sabre.php: left out " . $child->UID . ": sabre/vobject 2 hangs on BYSETPOS=" . $m[1] . "\n");
        unset($cal->children[$key]);
    }
}
$start = clone $from;
$stop = clone $to;
$cal->expand($start->sub($margin), $stop->add($margin));

$out = array();
foreach ($cal->select('VEVENT') as $ev) {
    $s = $ev->DTSTART->getDateTime();
    if (isset($ev->DTEND)) {
        $e = $ev->DTEND->getDateTime();
    } else {
        $e = clone $s;
        $e->add(Sabre\VObject\DateTimeParser::parse((string)$ev->DURATION));
    }
    if ($s < $from || $s >= $to)
        continue;
    $uid = (string)$ev->UID;
    $out[] = array('meeting' => explode('@', $uid)[0], 'uid' => $uid,
                   'start' => rfc3339($s), 'end' => rfc3339($e));
}
usort($out, function ($a, $b) {
    return strcmp($a['start'] . $a['meeting'], $b['start'] . $b['meeting']);
});
$lines = array_map(function ($o) { return ' ' . json_encode($o, JSON_UNESCAPED_SLASHES); }, $out);
echo "[\n" . implode(",\n", $lines) . ($out ? "\n" : "") . "]\n";
