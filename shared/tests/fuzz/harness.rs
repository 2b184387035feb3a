//! The fuzz harness of every crate's `tests/fuzz/` binary (`listener` and `functions` include this file by path:
//! test support cannot be a dependency without becoming part of a library). Fuzzing here is property testing
//! on the stable toolchain: each target is a proptest strategy (arbitrary bytes, or valid inputs from the
//! grammar then mutated by [`mutated`]) and a property that returns `Ok` or a typed error but never panics.
//!
//! How long it runs comes from the environment, so `make test` runs a short pass and `make fuzz` a long one:
//! - `FUZZ_CASES` (default [`DEFAULT_CASES`]): cases per round;
//! - `FUZZ_SECONDS` (default none, one round): keep running fresh rounds until this many seconds passed.
//!
//! Memory is watched too: each binary installs [`PeakAlloc`] as its allocator, and a case whose allocations
//! outgrow the target's budget (at any moment, on the thread that runs it) fails like a panic: "never allocates
//! unboundedly" is checked, not hoped for.
//!
//! Each target prints one line, `fuzz <target> <executions> <failures> <seconds>`, which `scripts/fuzz.sh`
//! gathers into a table. A failure is shrunk to a minimal input, printed, and its seed is kept in
//! `proptest-regressions/fuzz/<target>.txt` (committed: every later run replays it first).
#![allow(dead_code)] // each crate's fuzz binary uses the generators it needs

use proptest::prelude::*;
use proptest::test_runner::{Config, FileFailurePersistence, TestCaseError, TestError, TestRunner};
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::time::Instant;

thread_local! {
    /// Bytes allocated and not yet freed by this thread, and the most it reached since [`reset_peak`].
    static LIVE: Cell<isize> = const { Cell::new(0) };
    static PEAK: Cell<isize> = const { Cell::new(0) };
}

/// The system allocator, counting per thread what is live and its peak (frees on another thread count
/// there, so a thread's figure is only meaningful over work it does alone, as a fuzz case is).
pub struct PeakAlloc;

impl PeakAlloc {
    fn add(bytes: isize) {
        // `try_with`: the allocator runs while thread-locals are torn down too.
        let _ = LIVE.try_with(|live| {
            let now = live.get() + bytes;
            live.set(now);
            let _ = PEAK.try_with(|peak| peak.set(peak.get().max(now)));
        });
    }
}

// SAFETY: every call is forwarded to `System` unchanged; only counters are updated around it.
unsafe impl GlobalAlloc for PeakAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        Self::add(layout.size() as isize);
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        Self::add(layout.size() as isize);
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        Self::add(-(layout.size() as isize));
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        Self::add(new_size as isize - layout.size() as isize);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

/// Starts measuring this thread's peak from what is live now.
fn reset_peak() {
    PEAK.with(|peak| peak.set(LIVE.with(Cell::get)));
}

/// The most bytes this thread held at once since [`reset_peak`], beyond what it held then.
fn peak_growth(base: isize) -> usize {
    PEAK.with(Cell::get).saturating_sub(base).max(0) as usize
}

/// What one case may allocate at once, beyond its input, unless a target says otherwise: far above what any
/// bounded parser needs for the inputs here (at most a few hundred kilobytes), far below a header's
/// gigabyte claim believed.
pub const DEFAULT_MEMORY_BUDGET: usize = 64 << 20;

/// Cases per target in one round when `FUZZ_CASES` is unset: the whole short run stays well under a minute.
pub const DEFAULT_CASES: u32 = 256;

fn env_number<T: std::str::FromStr>(name: &str) -> Option<T> {
    let text = std::env::var(name).ok()?;
    Some(text.trim().parse().unwrap_or_else(|_| panic!("{name} must be a number, not {text:?}")))
}

/// Runs `property` over inputs from `strategy` for the configured budget, prints the target's line, and fails
/// the test (after printing the minimal failing input) when any input made it fail or panic.
pub fn fuzz<S: Strategy>(target: &'static str, strategy: S, property: impl Fn(S::Value) -> Result<(), TestCaseError>)
where
    S::Value: std::fmt::Debug + 'static,
{
    fuzz_within(target, DEFAULT_MEMORY_BUDGET, strategy, property);
}

/// [`fuzz`] with a memory budget per case other than [`DEFAULT_MEMORY_BUDGET`].
pub fn fuzz_within<S: Strategy>(
    target: &'static str,
    memory_budget: usize,
    strategy: S,
    property: impl Fn(S::Value) -> Result<(), TestCaseError>,
) where
    S::Value: std::fmt::Debug + 'static,
{
    let cases = env_number("FUZZ_CASES").unwrap_or(DEFAULT_CASES);
    let seconds: Option<f64> = env_number("FUZZ_SECONDS");
    // `Direct` takes a `&'static str`; one small string per target for the life of the test binary.
    let regressions: &'static str = Box::leak(format!("proptest-regressions/fuzz/{target}.txt").into_boxed_str());
    let started = Instant::now();
    let executions = Cell::new(0u64);
    let mut failure = None;
    loop {
        let config = Config {
            cases,
            failure_persistence: Some(Box::new(FileFailurePersistence::Direct(regressions))),
            max_shrink_iters: 4_096,
            ..Config::default()
        };
        let outcome = TestRunner::new(config).run(&(&strategy).prop_map(Shown), |Shown(input)| {
            executions.set(executions.get() + 1);
            let base = LIVE.with(Cell::get);
            reset_peak();
            property(input)?;
            let grew = peak_growth(base);
            check(grew <= memory_budget, || format!("allocated {grew} bytes at once (budget {memory_budget})"))
        });
        match outcome {
            Ok(()) => {}
            Err(TestError::Fail(reason, input)) => failure = Some(format!("{reason}\nminimal input: {input:#?}")),
            Err(TestError::Abort(reason)) => failure = Some(format!("aborted: {reason}")),
        }
        if failure.is_some() || seconds.is_none_or(|s| started.elapsed().as_secs_f64() >= s) {
            break;
        }
    }
    println!(
        "fuzz {target} {} {} {:.1}",
        executions.get(),
        u32::from(failure.is_some()),
        started.elapsed().as_secs_f64()
    );
    if let Some(failure) = failure {
        panic!("fuzz target {target} failed: {failure}");
    }
}

/// An input as failures show it (on screen and in the regressions file): its `Debug` cut to
/// [`SHOWN_CHARS`], as a minimal input can still hold a 32 KiB string.
#[derive(Clone)]
struct Shown<T>(T);

const SHOWN_CHARS: usize = 1_500;

impl<T: std::fmt::Debug + 'static> std::fmt::Debug for Shown<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Bytes as text (most inputs are JSON or HTTP): `b"…"` with the invalid UTF-8 replaced.
        let full = match (&self.0 as &dyn std::any::Any).downcast_ref::<Vec<u8>>() {
            Some(bytes) => format!("b{:?}", String::from_utf8_lossy(bytes)),
            None => format!("{:?}", self.0),
        };
        match full.char_indices().nth(SHOWN_CHARS) {
            Some((cut, _)) => write!(f, "{}… ({} characters in all)", &full[..cut], full.chars().count()),
            None => f.write_str(&full),
        }
    }
}

/// Fails the case unless `cond`; for properties beyond "does not panic".
pub fn check(cond: bool, what: impl FnOnce() -> String) -> Result<(), TestCaseError> {
    if cond { Ok(()) } else { Err(TestCaseError::fail(what())) }
}

/// One way to damage a valid input.
#[derive(Debug, Clone)]
pub enum Mutation {
    /// Cut at this position (every prefix, modulo the length).
    Truncate(usize),
    /// Flip one bit of the byte at this position.
    FlipBit(usize, u8),
    /// Replace the byte at this position.
    Replace(usize, u8),
    /// Insert these bytes at this position.
    Insert(usize, Vec<u8>),
    /// Remove this many bytes at this position.
    Remove(usize, usize),
    /// Repeat the bytes from this position to the end this many times.
    Repeat(usize, usize),
}

impl Mutation {
    /// `bytes` with the mutation applied (positions wrap around the length).
    pub fn apply(&self, mut bytes: Vec<u8>) -> Vec<u8> {
        let at = |i: usize, len: usize| if len == 0 { 0 } else { i % len };
        match self {
            Self::Truncate(i) => bytes.truncate(at(*i, bytes.len() + 1)),
            Self::FlipBit(i, bit) if !bytes.is_empty() => {
                let i = at(*i, bytes.len());
                bytes[i] ^= 1 << (bit % 8);
            }
            Self::Replace(i, b) if !bytes.is_empty() => {
                let i = at(*i, bytes.len());
                bytes[i] = *b;
            }
            Self::Insert(i, extra) => {
                let i = at(*i, bytes.len() + 1);
                bytes.splice(i..i, extra.iter().copied());
            }
            Self::Remove(i, n) => {
                let i = at(*i, bytes.len() + 1);
                let end = (i + n).min(bytes.len());
                bytes.drain(i..end);
            }
            Self::Repeat(i, times) => {
                let i = at(*i, bytes.len() + 1);
                let tail = bytes[i..].to_vec();
                for _ in 0..*times {
                    bytes.extend_from_slice(&tail);
                }
            }
            Self::FlipBit(..) | Self::Replace(..) => {}
        }
        bytes
    }
}

/// A byte-level mutation; inserted bytes lean towards the characters that delimit JSON, HTTP and structured
/// fields, so mutations land on the grammar rather than only inside strings.
pub fn mutation() -> impl Strategy<Value = Mutation> {
    let delimiter = prop::sample::select(b"{}[]\":,;=()\\ \r\n\t0-.eE?*:/\x00\xff".to_vec());
    let insert = prop::collection::vec(prop_oneof![delimiter, any::<u8>()], 1..8);
    prop_oneof![
        any::<usize>().prop_map(Mutation::Truncate),
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::FlipBit(i, b)),
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::Replace(i, b)),
        (any::<usize>(), insert).prop_map(|(i, v)| Mutation::Insert(i, v)),
        (any::<usize>(), 1usize..16).prop_map(|(i, n)| Mutation::Remove(i, n)),
        (any::<usize>(), 1usize..4).prop_map(|(i, n)| Mutation::Repeat(i, n)),
    ]
}

/// `valid` damaged by one to four mutations, or (two times in five) left whole, so what lies behind the
/// first check is reached too.
pub fn mutated(valid: impl Strategy<Value = Vec<u8>>) -> impl Strategy<Value = Vec<u8>> {
    let mutations = prop_oneof![2 => Just(Vec::new()), 3 => prop::collection::vec(mutation(), 1..5)];
    (valid, mutations).prop_map(|(bytes, mutations)| mutations.iter().fold(bytes, |b, m| m.apply(b)))
}

/// Arbitrary bytes up to `max` long.
pub fn bytes(max: usize) -> BoxedStrategy<Vec<u8>> {
    prop::collection::vec(any::<u8>(), 0..max).boxed()
}

/// A JSON scalar a client might send where another type is expected: huge and tiny numbers, ±0, numbers
/// as text (including `NaN` and `inf`, which JSON itself cannot carry), long and non-ASCII strings.
pub fn json_scalar() -> impl Strategy<Value = serde_json::Value> {
    use serde_json::{Value, json};
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<u64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|x| json!(x)), // NaN and ±∞ become null in serde_json
        prop::sample::select(vec![
            "NaN",
            "nan",
            "inf",
            "-Infinity",
            "1e309",
            "-1e309",
            "0",
            "-0",
            "1e-320",
            "18446744073709551616",
            "9223372036854775808",
            "  7 ",
            "",
            " ",
            "0x10",
            "½",
            "١٢٣",
        ])
        .prop_map(|s| json!(s)),
        ".{0,40}".prop_map(Value::String),
        (0usize..70_000).prop_map(|n| json!("é".repeat(n / 2))),
    ]
}

/// Any JSON value, nested up to `depth` levels, with [`json_scalar`] leaves and keys drawn from `keys` or
/// arbitrary.
pub fn json_value(keys: &'static [&'static str], depth: u32) -> impl Strategy<Value = serde_json::Value> {
    use serde_json::Value;
    let key = prop_oneof![prop::sample::select(keys), Just("")].prop_map(str::to_string);
    let key = prop_oneof![4 => key, 1 => ".{0,12}"];
    json_scalar().prop_recursive(depth, 64, 8, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            prop::collection::vec((key.clone(), inner), 0..8).prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

/// A JSON text nested `depth` levels deep (`[[[…]]]` or `{"a":{"a":…}}`): recursion limits of the parsers.
pub fn deep_json() -> impl Strategy<Value = Vec<u8>> {
    (1usize..2_000, any::<bool>()).prop_map(|(depth, arrays)| {
        let (open, close) = if arrays { ("[", "]") } else { ("{\"a\":", "}") };
        format!("{{\"x\":{}1{}}}", open.repeat(depth), close.repeat(depth)).into_bytes()
    })
}

/// An object from the grammar's fields (`fields` strategies per key), with some keys removed and, half the
/// time, some values replaced by a value of the wrong type.
pub fn object_from(
    fields: Vec<(&'static str, BoxedStrategy<serde_json::Value>)>,
    keys: &'static [&'static str],
) -> impl Strategy<Value = serde_json::Map<String, serde_json::Value>> {
    let n = fields.len();
    let values: Vec<BoxedStrategy<(&'static str, serde_json::Value)>> =
        fields.into_iter().map(|(k, s)| s.prop_map(move |v| (k, v)).boxed()).collect();
    let wrong = prop_oneof![Just(Vec::new()), prop::collection::vec((0..n.max(1), json_value(keys, 2)), 1..3)];
    (values, prop::collection::vec(prop::bool::weighted(0.9), n), wrong).prop_map(|(fields, keep, wrong)| {
        let mut obj: serde_json::Map<String, serde_json::Value> =
            fields.into_iter().zip(keep).filter(|(_, k)| *k).map(|((k, v), _)| (k.to_string(), v)).collect();
        for (i, v) in wrong {
            if let Some(k) = obj.keys().nth(i).cloned() {
                obj.insert(k, v);
            }
        }
        obj
    })
}

/// Every node of `v` as a JSON pointer (the root is `""`).
fn pointers(v: &serde_json::Value, at: String, out: &mut Vec<String>) {
    use serde_json::Value;
    match v {
        Value::Object(o) => {
            o.iter().for_each(|(k, v)| pointers(v, format!("{at}/{}", k.replace('~', "~0").replace('/', "~1")), out))
        }
        Value::Array(a) => a.iter().enumerate().for_each(|(i, v)| pointers(v, format!("{at}/{i}"), out)),
        _ => {}
    }
    out.push(at);
}

/// `v` with the node numbered `node` (modulo the node count) removed (`None`) or replaced.
pub fn json_edit(v: &mut serde_json::Value, node: usize, replacement: Option<serde_json::Value>) {
    let mut all = Vec::new();
    pointers(v, String::new(), &mut all);
    let at = &all[node % all.len()];
    match replacement {
        Some(new) => *v.pointer_mut(at).expect("a pointer from the walk") = new,
        None => {
            let (parent, last) = at.rsplit_once('/').unwrap_or(("", ""));
            match v.pointer_mut(parent) {
                Some(serde_json::Value::Object(o)) => {
                    o.remove(&last.replace("~1", "/").replace("~0", "~"));
                }
                Some(serde_json::Value::Array(a)) => {
                    if let Ok(i) = last.parse::<usize>() {
                        a.remove(i);
                    }
                }
                _ => {}
            }
        }
    }
}

/// A valid document with up to four nodes removed or replaced by values of any type (keys from `keys`):
/// structure-aware damage, where byte mutations mostly make text that is not JSON at all.
pub fn json_edited(
    valid: impl Strategy<Value = serde_json::Value>,
    keys: &'static [&'static str],
) -> impl Strategy<Value = serde_json::Value> {
    let replacement = prop_oneof![1 => Just(None), 3 => json_value(keys, 2).prop_map(Some)];
    (valid, prop::collection::vec((any::<usize>(), replacement), 0..4)).prop_map(|(mut v, edits)| {
        for (node, replacement) in edits {
            json_edit(&mut v, node, replacement);
        }
        v
    })
}
