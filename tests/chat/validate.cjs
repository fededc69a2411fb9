// validate.cjs — checks chat payloads that the real tandem posted (captured
// by tests/chat/test_payloads.py) with the services' own client libraries:
//
//   teams:   Microsoft's adaptivecards SDK parses the card with no event and
//            validates it with no issue; only RichTextBlocks of TextRuns (no
//            Markdown); the whole body under Teams' ~28 KB.
//   discord: the body is exactly what discord.js sends for that content and
//            those allowed mentions; the content parsed by a Discord markdown
//            parser has no node but text, Unicode emoji, tandem's one bold
//            title, URLs and the configured mentions; at most 2,000
//            characters.
//
// Both: every literal the config held is shown as written; a cut text ends
// in "…" after a prefix of the config text that ends on a grapheme
// boundary (Intl.Segmenter, an oracle independent of tandem's ICU use).
//
// Usage: node validate.cjs CASES.json; prints one line per failure and
// "N passed, N failed". Exit 1 on any failure.
"use strict";

const fs = require("fs");
const AC = require("adaptivecards/dist/adaptivecards.js");
const { MessagePayload, WebhookClient } = require("discord.js");
const { parse } = require("discord-markdown-parser");

const ELLIPSIS = "\u2026";
const failures = [];
let passed = 0;

function check(name, ok, detail) {
    if (ok) passed++;
    else failures.push(`${name}: ${detail}`);
}

function graphemeBoundaries(s) {
    const seg = new Intl.Segmenter("en", { granularity: "grapheme" });
    const out = new Set([0]);
    for (const { index, segment } of seg.segment(s)) out.add(index + segment.length);
    return out;
}

// The text shows every literal, and the cut one as a prefix then "…".
function checkLiterals(name, shown, c) {
    for (const lit of c.literals) check(name, shown.includes(lit), `not shown as written: ${JSON.stringify(lit)}`);
    if (!c.cut) return;
    check(name, shown.endsWith(ELLIPSIS), `a cut text must end in "…": ...${JSON.stringify(shown.slice(-40))}`);
    const start = shown.indexOf(c.cut.slice(0, 16));
    check(name, start >= 0, "the cut text is missing");
    const kept = shown.slice(start, shown.length - ELLIPSIS.length);
    check(name, c.cut.startsWith(kept), "what was kept is not a prefix of the config text");
    check(name, graphemeBoundaries(c.cut).has(kept.length), `cut inside a grapheme cluster at ${kept.length}`);
}

function checkTeams(c) {
    const name = `teams ${c.name}`;
    const body = JSON.parse(c.body);
    check(name, Buffer.byteLength(c.body, "utf8") <= 28000, `body of ${Buffer.byteLength(c.body)} bytes`);
    check(name, body.type === "message" && body.attachments.length === 1, "not a Workflows message");
    const att = body.attachments[0];
    check(name, att.contentType === "application/vnd.microsoft.card.adaptive", att.contentType);
    const card = new AC.AdaptiveCard();
    const ctx = new AC.SerializationContext();
    card.parse(att.content, ctx);
    const events = [];
    for (let i = 0; i < ctx.eventCount; i++) events.push(ctx.getEventAt(i).message);
    check(name, events.length === 0, `parse: ${events.join("; ")}`);
    const issues = card.validateProperties().validationEvents.map((e) => e.message);
    check(name, issues.length === 0, `validate: ${issues.join("; ")}`);
    // Round trip: the SDK keeps every block and run (nothing it dropped).
    check(name, card.toJSON().body.length === att.content.body.length, "the SDK dropped blocks of the card");
    const lines = [];
    for (const block of att.content.body) {
        check(name, block.type === "RichTextBlock", `block of type ${block.type}: TextBlock text is Markdown`);
        for (const run of block.inlines) check(name, run.type === "TextRun", `inline of type ${run.type}`);
        lines.push(block.inlines.map((r) => r.text).join(""));
    }
    check(name, !c.body.includes("msteams"), "a mention entity was sent");
    checkLiterals(name, lines.join("\n"), c);
}

// The text of a parsed Discord message, and its nodes by type.
function flatten(nodes, types) {
    let s = "";
    for (const n of nodes) {
        types.push(n.type);
        if (typeof n.content === "string") s += n.content;
        else if (Array.isArray(n.content)) s += flatten(n.content, types);
        else if (n.type === "url" || n.type === "autolink") s += n.target;
        else if (n.type === "br") s += "\n";
        else if (n.type === "twemoji") s += n.name; // a Unicode emoji, drawn as itself
        else if (n.type === "everyone") s += "@everyone";
        else if (n.type === "here") s += "@here";
        else if (n.type === "role") s += `<@&${n.id}>`;
        else if (n.type === "user") s += `<@${n.id}>`;
    }
    return s;
}

function checkDiscord(c, client) {
    const name = `discord ${c.name}`;
    const body = JSON.parse(c.body);
    check(name, [...body.content].length <= 2000 && body.content.length <= 2000,
          `content of ${[...body.content].length} characters`);
    // discord.js's own shaping of the same message.
    const am = body.allowed_mentions || {};
    const options = { content: body.content, allowedMentions: { parse: am.parse } };
    if (am.users) options.allowedMentions.users = am.users;
    if (am.roles) options.allowedMentions.roles = am.roles;
    const theirs = MessagePayload.create(client, options).resolveBody().body;
    delete theirs.tts;
    delete theirs.enforce_nonce;
    for (const k of Object.keys(theirs)) if (theirs[k] === undefined) delete theirs[k];
    check(name, JSON.stringify(theirs) === JSON.stringify(body), `discord.js would send ${JSON.stringify(theirs).slice(0, 200)}`);
    check(name, JSON.stringify(am) === JSON.stringify(c.allowed_mentions),
          `allowed_mentions ${JSON.stringify(am)}, want ${JSON.stringify(c.allowed_mentions)}`);
    // What Discord shows.
    const types = [];
    const shown = flatten(parse(body.content, "normal"), types);
    const allowed = new Set(["text", "strong", "url", "autolink", "br", "twemoji", ...c.mention_nodes]);
    const bad = types.filter((t) => !allowed.has(t));
    check(name, bad.length === 0, `markup from the config: ${[...new Set(bad)].join(", ")}`);
    check(name, types.filter((t) => t === "strong").length === c.bold, "only tandem's title may be bold");
    checkLiterals(name, shown, c);
}

function main() {
    const cases = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
    const client = new WebhookClient({ id: "1", token: "x" });
    for (const c of cases) {
        try {
            if (c.kind === "teams") checkTeams(c);
            else if (c.kind === "discord") checkDiscord(c, client);
            else check(c.name, false, `unknown kind ${c.kind}`);
        } catch (e) {
            check(`${c.kind} ${c.name}`, false, e.stack);
        }
    }
    client.destroy();
    for (const f of failures) console.log(`FAIL ${f}`);
    console.log(`${passed} passed, ${failures.length} failed`);
    process.exit(failures.length ? 1 : 0);
}

main();
