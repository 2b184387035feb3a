//! Embedded analysis speed: the pre-analysis cleanup and `engine::analyze` of a generated one-hour, two-speaker
//! support call (900 utterances about billing, refunds, internet plans and cancelling), on one core, as one-hour
//! transcripts per second and ms per transcript. Serialising the same entries to `transcript.json` (`to_json` and
//! `to_string`, the least any pipeline does with a transcript), measured in the same run, is the baseline the cost
//! is also given as a ratio to. The split by stage (cleanup, roles + sentiment, topics, the rest by difference)
//! shows where the time goes; the size of the output documents and, on Linux, the peak resident memory one
//! analysis adds show what it holds.
//!
//! `cargo bench -p shared --bench analysis [-- --seconds N | --smoke]`

use serde_json::Value;
use shared::analysis::engine::{Analysis, AnalysisInput, analyze};
use shared::analysis::insights::topics;
use shared::analysis::roles::roles;
use shared::analysis::sentiment::{call_sentiment, score};
use shared::analysis::tags::TagRules;
use shared::speech::transcript::{Cleanup, Entry, to_json};
use shared::values::timestamps::Timestamp;
use std::hint::black_box;
use std::process::ExitCode;
use std::time::Instant;

const CALL_SECONDS: f64 = 3600.0;
/// Words per second of speech, for the relative length of utterances.
const SPEECH_RATE: f64 = 2.5;
const AGENT: &str = "0";
const CUSTOMER: &str = "1";

/// What the agent (first) and the customer (second) say about each subject, with placeholders.
const SUBJECTS: [(&[&str], &[&str]); 4] = [
    (
        &[
            "I can see the invoice from {day} shows a charge of {amount} for the {plan} plan.",
            "Let me check the billing history on the account number ending in {digits}.",
            "The extra {amount} is a one-time installation fee that was added to this invoice.",
            "I will send you an itemised invoice by email so you can see every charge.",
            "Could you confirm the billing address and your date of birth for me, please?",
        ],
        &[
            "I was charged {amount} on {day} and I don't understand why my bill went up.",
            "Why is there an extra {amount} on my invoice this month?",
            "My bill is usually {amount} but this invoice says something completely different.",
            "I paid the invoice on {day} and the money left my bank account twice.",
            "Um, yes, the billing address is still the same one.",
        ],
    ),
    (
        &[
            "I'm sorry about that, I understand how frustrating a double charge is.",
            "I will refund the duplicate charge of {amount} today, it takes three to five business days.",
            "The refund reference number is {reference}, you will see it on your next statement.",
            "Thank you for your patience, I'm still checking the payment records.",
            "The refund goes back to the card ending in {digits} that you paid with.",
        ],
        &[
            "I want a refund for the duplicate charge, this is really frustrating.",
            "When will the refund show up on my card?",
            "I need the refund before {day} because my rent is due.",
            "Okay, so the refund of {amount} goes back to the same card?",
            "Uh, can you email me the refund confirmation as well?",
        ],
    ),
    (
        &[
            "The {plan} plan gives you {speed} megabits for {amount} a month with no data cap.",
            "Let me compare the {plan} plan with what you have now, it would save you {amount} a month.",
            "I can switch you to the {plan} plan from {day} without any fee.",
            "Our fibre coverage reaches your street, so the {plan} plan is available at your address.",
            "I will book an engineer visit for {day} to check the line and the router.",
        ],
        &[
            "My internet keeps dropping in the evening and the speed is terrible.",
            "Is the {plan} plan faster than what I have now?",
            "I work from home so I need a stable connection for video calls.",
            "How much would the {plan} plan cost me per month?",
            "You know, the router lights keep blinking orange every night.",
        ],
    ),
    (
        &[
            "I understand you want to cancel, may I ask what made you decide that?",
            "If you cancel before {day} there is an early termination fee of {amount}.",
            "Before you cancel, I can offer the {plan} plan at {amount} a month for twelve months.",
            "I will make sure the cancellation request is noted on your account today.",
            "I'm going to transfer the retention offer details to your email right now.",
        ],
        &[
            "Honestly I am thinking about cancelling and going to another provider.",
            "If this is not fixed I want to cancel my contract and close account.",
            "What do I need to do to cancel the internet plan?",
            "Is there a fee if I cancel before the contract ends?",
            "Hmm, the offer sounds okay but I need to talk to my partner first.",
        ],
    ),
];
const OPENING: [(&str, &str); 2] = [
    (AGENT, "Thank you for calling Northwind Broadband, my name is Sam Ortiz, how can I help you today?"),
    (CUSTOMER, "Hi, this is Dana Reyes, I was charged twice on my internet bill and I want it sorted."),
];
const CLOSING: [(&str, &str); 3] = [
    (AGENT, "Is there anything else I can help you with today?"),
    (CUSTOMER, "No, that's all, thank you for the help."),
    (AGENT, "Thank you for calling Northwind Broadband, have a great evening."),
];
/// Short turns: the agent's (first) and the customer's.
const ACKNOWLEDGEMENTS: (&[&str], &[&str]) = (
    &["Okay, I see.", "Right, let me look.", "Mm-hmm.", "Of course.", "Yes, one moment please."],
    &["Okay.", "Yes, that's right.", "Uh huh.", "Right.", "Sure, go ahead."],
);
const FILLERS: [&str; 5] = ["um", "uh", "you know,", "so, um,", "I mean,"];
const PLANS: [&str; 4] = ["Fibre 300", "Fibre 900", "Basic 50", "Family Unlimited"];
const DAYS: [&str; 7] = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "the 1st", "the 15th"];

struct Args {
    entries: usize,
    /// Measuring time per figure; 0 runs each once.
    seconds: f64,
}

fn args() -> Args {
    let mut a = Args { entries: 900, seconds: 3.0 };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--smoke" => a = Args { entries: 24, seconds: 0.0 },
            "--seconds" => a.seconds = it.next().and_then(|v| v.parse().ok()).unwrap_or(a.seconds).max(0.0),
            _ => {} // cargo passes --bench and friends
        }
    }
    a
}

/// xorshift64: the same call every run.
struct Dice(u64);

impl Dice {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }

    fn pick<'a>(&mut self, from: &[&'a str]) -> &'a str {
        from[self.below(from.len())]
    }
}

fn fill(template: &str, dice: &mut Dice) -> String {
    let amount = format!("${}.{:02}", 10 + dice.below(190), dice.below(100));
    template
        .replace("{amount}", &amount)
        .replace("{day}", dice.pick(&DAYS))
        .replace("{plan}", dice.pick(&PLANS))
        .replace("{digits}", &format!("{:04}", dice.below(10_000)))
        .replace("{reference}", &format!("RF-{:06}", dice.below(1_000_000)))
        .replace("{speed}", &(100 * (1 + dice.below(9))).to_string())
}

/// One utterance of `speaker` while the call is on `subject`: a short turn, or one or two sentences, now and
/// then on another subject, with a filler in front or a word said twice, as speech-to-text writes them.
fn utterance(speaker: &str, subject: usize, dice: &mut Dice) -> String {
    if dice.below(10) < 3 {
        let (agent, customer) = ACKNOWLEDGEMENTS;
        return dice.pick(if speaker == AGENT { agent } else { customer }).to_string();
    }
    let sentences = [1, 1, 2][dice.below(3)];
    let parts: Vec<String> = (0..sentences)
        .map(|_| {
            let (agent, customer) = SUBJECTS[if dice.below(4) == 0 { dice.below(SUBJECTS.len()) } else { subject }];
            fill(dice.pick(if speaker == AGENT { agent } else { customer }), dice)
        })
        .collect();
    let text = parts.join(" ");
    match dice.below(6) {
        0 => format!("{} {text}", dice.pick(&FILLERS)),
        1 => text.replacen(" the ", " the the ", 1),
        _ => text,
    }
}

/// A support call of `n` utterances (at least the opening and closing), taking turns, back to back over
/// `seconds`, each as long as its words.
fn support_call(n: usize, seconds: f64) -> Vec<Entry> {
    let mut dice = Dice(0x5eed_ca11);
    let body = n.saturating_sub(OPENING.len() + CLOSING.len());
    let middle = (0..body).map(|i| {
        let speaker = if i % 2 == 0 { AGENT } else { CUSTOMER };
        (speaker, utterance(speaker, i * SUBJECTS.len() / body.max(1), &mut dice))
    });
    let said: Vec<(&str, String)> = OPENING
        .iter()
        .map(|(s, t)| (*s, t.to_string()))
        .chain(middle)
        .chain(CLOSING.iter().map(|(s, t)| (*s, t.to_string())))
        .collect();
    let lengths: Vec<f64> = said.iter().map(|(_, t)| t.split_whitespace().count() as f64 / SPEECH_RATE).collect();
    let scale = seconds / lengths.iter().sum::<f64>();
    let mut start = 0.0;
    said.into_iter()
        .zip(lengths)
        .map(|((speaker, transcript), length)| {
            let entry = Entry::new(speaker, start, start + length * scale, &transcript);
            start = entry.end_time_seconds;
            entry
        })
        .collect()
}

/// Mean seconds per run of `f`, run back to back for `seconds` (at least once).
fn per_run(seconds: f64, mut f: impl FnMut()) -> f64 {
    let started = Instant::now();
    let mut runs = 0u32;
    loop {
        f();
        runs += 1;
        let elapsed = started.elapsed().as_secs_f64();
        if elapsed >= seconds {
            return elapsed / f64::from(runs);
        }
    }
}

/// The resident memory `f` adds at its peak, in bytes, from Linux's high-water mark (reset first); `None`
/// where that is not available.
fn peak_extra_resident(f: impl FnOnce()) -> Option<u64> {
    let kib = |field: &str| -> Option<u64> {
        let status = std::fs::read_to_string("/proc/self/status").ok()?;
        status.lines().find_map(|l| l.strip_prefix(field))?.trim().trim_end_matches("kB").trim().parse().ok()
    };
    std::fs::write("/proc/self/clear_refs", "5").ok()?;
    let before = kib("VmRSS:")?;
    f();
    Some(kib("VmHWM:")?.saturating_sub(before) * 1024)
}

fn main() -> ExitCode {
    let a = args();
    let (cleanup, tags) = match (Cleanup::from_env(&[]), TagRules::from_env(&[])) {
        (Ok(cleanup), Ok(tags)) => (cleanup, tags),
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("analysis: settings: {e}");
            return ExitCode::FAILURE;
        }
    };
    let seconds = CALL_SECONDS * a.entries as f64 / 900.0;
    let entries = support_call(a.entries, seconds);
    let run = |entries: &[Entry]| -> Analysis {
        let cleaned = cleanup.apply(entries);
        analyze(&AnalysisInput {
            entries: &cleaned,
            duration_seconds: Some(seconds),
            prompt_pack: "support",
            glossary: &[],
            tags: &tags,
        })
    };
    score("warm up"); // VADER's lexicon loads once per process; not part of a transcript's cost
    let mut out = None;
    let peak = peak_extra_resident(|| out = Some(run(&entries)));
    let Some(out) = out else { return ExitCode::FAILURE };
    let roles_found = &out.analysis["speaker_roles"];
    if roles_found[AGENT] != "Agent" || roles_found[CUSTOMER] != "Customer" || out.analysis["topics"] == Value::Null {
        eprintln!("analysis: the generated call was misread: {}", out.analysis);
        return ExitCode::FAILURE;
    }
    let output_bytes = [&out.analysis, &out.summary, &out.qa].iter().map(|v| v.to_string().len()).sum::<usize>();

    let at = Timestamp::UNIX_EPOCH;
    let baseline = per_run(a.seconds, || drop(black_box(to_json(black_box(&entries), at).to_string())));
    let total = per_run(a.seconds, || drop(black_box(run(black_box(&entries)))));
    let cleaned = cleanup.apply(&entries);
    let stages = [
        ("cleanup", per_run(a.seconds, || drop(black_box(cleanup.apply(black_box(&entries)))))),
        (
            "roles + sentiment",
            per_run(a.seconds, || {
                let r = roles(black_box(&cleaned));
                drop(black_box(call_sentiment(&cleaned, &r)));
            }),
        ),
        ("topics", per_run(a.seconds, || drop(black_box(topics(black_box(&cleaned), 8))))),
    ];
    let rest = total - stages.iter().map(|(_, t)| t).sum::<f64>();

    let words: usize = entries.iter().map(|e| e.transcript.split_whitespace().count()).sum();
    let timing = if a.seconds > 0.0 { format!("{} s per figure", a.seconds) } else { "one run per figure".into() };
    println!(
        "analysis: {} utterances, {words} words ({:.0} a minute) over {seconds:.0} s, two speakers; {timing}, one core",
        entries.len(),
        words as f64 / (seconds / 60.0)
    );
    let per_hour = seconds / CALL_SECONDS;
    let line = |name: &str, t: f64| {
        println!(
            "  {name:<19} {:>9.1} one-hour transcripts/s  {:>8.3} ms/transcript  ({:>6.2}× baseline)",
            per_hour / t,
            t * 1000.0 / per_hour,
            t / baseline
        );
    };
    line("baseline to_json", baseline);
    line("cleanup + analyze", total);
    println!("  split of cleanup + analyze:");
    for (name, t) in stages.into_iter().chain([("everything else", rest)]) {
        println!("    {name:<17} {:>8.3} ms  {:>5.1}%", t * 1000.0 / per_hour, t / total * 100.0);
    }
    let peak = peak.map_or_else(|| "not measured here".to_string(), |b| format!("{:.0} KiB", b as f64 / 1024.0));
    println!(
        "  output JSON {:.1} KiB (analysis + summary + qa); peak extra resident memory of one analysis {peak}",
        output_bytes as f64 / 1024.0
    );
    ExitCode::SUCCESS
}
