//! Gauges read from the state they describe, at the moment they are read (a scrape, an EMF flush), instead
//! of kept by increments and decrements: a decrement missed on an error path or lost in a restart would
//! leave such a gauge wrong for good, while a reading is right every time. Each owner of some state (the
//! AudioHook service, the push channel) registers a sampler for as long as it lives.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

/// Values sampled for one read: what several samplers report under one name is added up (two pools in one
/// process hold the sum of their queues), or kept at its maximum with [`Readings::max`].
#[derive(Debug, Default)]
pub struct Readings {
    values: BTreeMap<&'static str, f64>,
}

impl Readings {
    pub fn add(&mut self, name: &'static str, value: f64) {
        *self.values.entry(name).or_default() += value;
    }

    pub fn max(&mut self, name: &'static str, value: f64) {
        let v = self.values.entry(name).or_insert(value);
        *v = v.max(value);
    }
}

type Sampler = Arc<dyn Fn(&mut Readings) + Send + Sync>;

#[derive(Default)]
struct Samplers {
    next: u64,
    live: BTreeMap<u64, Sampler>,
    /// Every name ever reported: one whose samplers are all gone reads 0, not its last value.
    seen: BTreeSet<&'static str>,
}

static SAMPLERS: Mutex<Samplers> = Mutex::new(Samplers { next: 0, live: BTreeMap::new(), seen: BTreeSet::new() });

fn samplers() -> std::sync::MutexGuard<'static, Samplers> {
    SAMPLERS.lock().unwrap_or_else(|p| p.into_inner())
}

/// A registered sampler; dropping it unregisters it.
#[must_use = "the sampler is unregistered when this is dropped"]
pub struct Sampled(u64);

impl Drop for Sampled {
    fn drop(&mut self) {
        samplers().live.remove(&self.0);
    }
}

/// Registers `sampler`, called at every read until the returned guard is dropped.
pub fn sample(sampler: impl Fn(&mut Readings) + Send + Sync + 'static) -> Sampled {
    let mut s = samplers();
    s.next += 1;
    let id = s.next;
    s.live.insert(id, Arc::new(sampler));
    Sampled(id)
}

/// Sets every sampled gauge from its sampler's reading now.
pub fn refresh() {
    let live: Vec<Sampler> = samplers().live.values().cloned().collect();
    // Outside the lock: a sampler may take its own locks, and must not be able to deadlock a registration.
    let mut readings = Readings::default();
    for sampler in &live {
        sampler(&mut readings);
    }
    let names: Vec<&'static str> = {
        let mut s = samplers();
        s.seen.extend(readings.values.keys());
        s.seen.iter().copied().collect()
    };
    for name in names {
        metrics::gauge!(name).set(readings.values.get(name).copied().unwrap_or(0.0));
    }
}
