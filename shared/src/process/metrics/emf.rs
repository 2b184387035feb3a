//! The CloudWatch recorder: keeps what happened since the last flush (counter increases, gauge values,
//! histogram samples) and writes it to stdout as Embedded Metric Format lines, which CloudWatch Logs turns
//! into metrics with no API call of ours. A Lambda flushes once per invocation; the listener every
//! `METRICS_EMF_INTERVAL_SECONDS`.

use super::emf_document::{self, Reading, Series, Target};
use metrics::{Counter, Gauge, Histogram, HistogramFn, Key, KeyName, Metadata, Recorder, SharedString, Unit};
use metrics_util::registry::{Registry, Storage};
use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// Samples one histogram keeps between two flushes: past this, a uniform sample of them (reservoir
/// sampling), so a busy minute costs bounded memory and at most ten documents per series.
pub const MAX_SAMPLES: usize = 1_000;

/// A histogram's samples since the last flush.
#[derive(Debug, Default)]
pub struct Samples(Mutex<Reservoir>);

#[derive(Debug, Default)]
struct Reservoir {
    values: Vec<f64>,
    seen: u64,
    /// xorshift state for the replacement choice (never 0).
    rng: u64,
}

impl Reservoir {
    fn record(&mut self, value: f64) {
        self.seen += 1;
        if self.values.len() < MAX_SAMPLES {
            self.values.push(value);
            return;
        }
        if self.rng == 0 {
            self.rng = 0x9E37_79B9_7F4A_7C15;
        }
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        let slot = (self.rng % self.seen) as usize;
        if slot < MAX_SAMPLES {
            self.values[slot] = value;
        }
    }
}

impl HistogramFn for Samples {
    fn record(&self, value: f64) {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).record(value);
    }
}

impl Samples {
    fn take(&self) -> Vec<f64> {
        let mut r = self.0.lock().unwrap_or_else(|p| p.into_inner());
        r.seen = 0;
        std::mem::take(&mut r.values)
    }
}

/// Counters and gauges as atomics (a gauge holds its `f64` bits), histograms as [`Samples`].
#[derive(Debug, Default)]
pub struct EmfStorage;

impl Storage<Key> for EmfStorage {
    type Counter = Arc<AtomicU64>;
    type Gauge = Arc<AtomicU64>;
    type Histogram = Arc<Samples>;

    fn counter(&self, _: &Key) -> Self::Counter {
        Arc::default()
    }

    fn gauge(&self, _: &Key) -> Self::Gauge {
        Arc::default()
    }

    fn histogram(&self, _: &Key) -> Self::Histogram {
        Arc::default()
    }
}

/// The recorder. Cheap to share: clones see the same series.
#[derive(Clone)]
pub struct Emf {
    registry: Arc<Registry<Key, EmfStorage>>,
    target: Target,
}

impl Emf {
    pub fn new(target: Target) -> Self {
        Self { registry: Arc::new(Registry::new(EmfStorage)), target }
    }

    /// Everything since the last flush as EMF documents, at `timestamp_ms`; counters and histograms start
    /// again from nothing. Every series seen so far is in them (a counter that did not move reads 0, so an
    /// alarm sees data rather than none).
    pub fn drain(&self, timestamp_ms: i64) -> Vec<serde_json::Value> {
        let mut series = Vec::new();
        let labels = |key: &Key| {
            let mut l: Vec<(String, String)> = key.labels().map(|l| (l.key().into(), l.value().into())).collect();
            l.sort();
            l
        };
        let mut add =
            |key: &Key, reading| series.push(Series { name: key.name().into(), labels: labels(key), reading });
        self.registry.visit_counters(|key, c| add(key, Reading::Number(c.swap(0, Ordering::Relaxed) as f64)));
        self.registry.visit_gauges(|key, g| add(key, Reading::Number(f64::from_bits(g.load(Ordering::Relaxed)))));
        self.registry.visit_histograms(|key, h| {
            let samples = h.take();
            if !samples.is_empty() {
                add(key, Reading::Samples(samples));
            }
        });
        emf_document::documents(&self.target, timestamp_ms, series)
    }

    /// Writes the documents of [`Emf::drain`] to `out`, one line each.
    pub fn flush_to(&self, out: &mut impl Write) -> std::io::Result<()> {
        let now = chrono::Utc::now().timestamp_millis();
        for doc in self.drain(now) {
            // One write per line: stdout is shared with the JSON logs, and a line must not be interleaved.
            let mut line = doc.to_string();
            line.push('\n');
            out.write_all(line.as_bytes())?;
        }
        out.flush()
    }
}

impl Recorder for Emf {
    // EMF has no help text; the unit comes from the name (`names::unit_of`).
    fn describe_counter(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}

    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
        self.registry.get_or_create_counter(key, |c| Counter::from_arc(c.clone()))
    }

    fn register_gauge(&self, key: &Key, _: &Metadata<'_>) -> Gauge {
        self.registry.get_or_create_gauge(key, |g| Gauge::from_arc(g.clone()))
    }

    fn register_histogram(&self, key: &Key, _: &Metadata<'_>) -> Histogram {
        self.registry.get_or_create_histogram(key, |h| Histogram::from_arc(h.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use metrics::with_local_recorder;

    fn emf() -> Emf {
        Emf::new(Target { namespace: "Test".into(), service: "unit".into() })
    }

    #[test]
    fn a_flush_reports_increases_since_the_last_one() {
        let e = emf();
        with_local_recorder(&e, || {
            metrics::counter!("x_total", "outcome" => "accepted").increment(3);
            metrics::gauge!("g_bytes").set(7.0);
            metrics::histogram!("h_seconds").record(0.25);
        });
        let docs = e.drain(1);
        let find = |name: &str| docs.iter().find_map(|d| d.get(name).cloned()).unwrap();
        assert_eq!(
            (find("x_total"), find("g_bytes"), find("h_seconds")),
            (3.0.into(), 7.0.into(), serde_json::json!([0.25]))
        );
        let again = e.drain(2);
        let find = |name: &str| again.iter().find_map(|d| d.get(name).cloned());
        assert_eq!((find("x_total"), find("g_bytes"), find("h_seconds")), (Some(0.0.into()), Some(7.0.into()), None));
    }

    #[test]
    fn a_histogram_keeps_a_bounded_sample() {
        let s = Samples::default();
        for i in 0..(MAX_SAMPLES * 5) {
            s.record(i as f64);
        }
        let kept = s.take();
        assert_eq!(kept.len(), MAX_SAMPLES);
        // A uniform sample of 0..5000 has most of its values past the first thousand.
        assert!(kept.iter().filter(|v| **v >= MAX_SAMPLES as f64).count() > MAX_SAMPLES / 2);
    }
}
