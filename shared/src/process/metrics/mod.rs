//! Metrics through the `metrics` facade: the code that does the work records them by name (`names`), and
//! each process installs what reads them once at its start: the Prometheus exporter for `GET /metrics`
//! (`call-analytics serve`, the listener), the CloudWatch EMF recorder writing to stdout (the Lambdas, and
//! the listener with `METRICS_EMF=true`), or both through a fanout. Before installation the facade records
//! nothing, so tests and tools that never install pay nothing.

pub mod emf;
pub mod emf_document;
pub mod gauges;
pub mod ingest;
pub mod names;

use crate::settings::env::{self, EnvError, EnvSource};
use emf::Emf;
use emf_document::Target;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use std::sync::OnceLock;
use std::time::Duration;

/// The content type of [`Installed::render`]'s text (Prometheus exposition format 0.0.4).
pub const PROMETHEUS_CONTENT_TYPE: &str = "text/plain; version=0.0.4";
/// How often the Prometheus exporter folds histogram samples into its buckets, so memory stays bounded
/// whether or not anyone scrapes.
const UPKEEP_EVERY: Duration = Duration::from_secs(5);

/// Metrics settings from the environment.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricsConfig {
    /// `METRICS_EMF` (false; the Lambdas always write EMF): also write CloudWatch EMF lines to stdout.
    pub emf: bool,
    /// `METRICS_NAMESPACE` (`CallAnalytics`): the CloudWatch namespace of the EMF metrics.
    pub namespace: String,
    /// `METRICS_SERVICE` (the binary's name, e.g. `listener`, `ingest-event`): the `Service` dimension.
    pub service: String,
    /// `METRICS_EMF_INTERVAL_SECONDS` (60, at least 1): how often a long-running process writes EMF.
    pub emf_interval: Duration,
}

impl MetricsConfig {
    /// The settings of a process whose role is `service` unless `METRICS_SERVICE` names another.
    pub fn from_env(e: &dyn EnvSource, service: &str) -> Result<Self, EnvError> {
        Ok(Self {
            emf: env::parsed(e, "METRICS_EMF", false, "true or false")?,
            namespace: env::string(e, "METRICS_NAMESPACE").unwrap_or_else(|| "CallAnalytics".into()),
            service: env::string(e, "METRICS_SERVICE").unwrap_or_else(|| service.into()),
            emf_interval: Duration::from_secs_f64(env::float(e, "METRICS_EMF_INTERVAL_SECONDS", 60.0)?.max(1.0)),
        })
    }

    /// Where EMF documents go, when they are written.
    pub fn emf_target(&self) -> Option<Target> {
        self.emf.then(|| Target { namespace: self.namespace.clone(), service: self.service.clone() })
    }
}

/// What this process installed.
pub struct Installed {
    prometheus: Option<PrometheusHandle>,
    emf: Option<Emf>,
}

static INSTALLED: OnceLock<Installed> = OnceLock::new();

/// Installs the process's recorder: the Prometheus exporter when `prometheus`, the EMF recorder when
/// `emf` names a target, both through a fanout when both. The first call wins; later ones (a second
/// server in one test process) get what it installed.
pub fn install(prometheus: bool, emf: Option<Target>) -> &'static Installed {
    INSTALLED.get_or_init(|| {
        let handle = prometheus.then(prometheus_recorder);
        let emf = emf.map(Emf::new);
        let recorder: Box<dyn metrics::Recorder + Sync> = match (&handle, &emf) {
            (Some((recorder, _)), Some(emf)) => Box::new(
                metrics_util::layers::FanoutBuilder::default()
                    .add_recorder(recorder.clone())
                    .add_recorder(emf.clone())
                    .build(),
            ),
            (Some((recorder, _)), None) => Box::new(recorder.clone()),
            (None, Some(emf)) => Box::new(emf.clone()),
            (None, None) => Box::new(metrics::NoopRecorder),
        };
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!("metrics: a recorder was already installed; keeping it");
        }
        names::describe();
        let prometheus = handle.map(|(_, h)| h);
        if let Some(h) = prometheus.clone() {
            std::thread::spawn(move || {
                loop {
                    std::thread::sleep(UPKEEP_EVERY);
                    h.run_upkeep();
                }
            });
        }
        Installed { prometheus, emf }
    })
}

/// What this process installed, if it did.
pub fn installed() -> Option<&'static Installed> {
    INSTALLED.get()
}

/// The Prometheus recorder with every histogram's buckets, and its handle.
fn prometheus_recorder() -> (std::sync::Arc<metrics_exporter_prometheus::PrometheusRecorder>, PrometheusHandle) {
    let mut builder = PrometheusBuilder::new();
    for (name, buckets) in names::HISTOGRAMS {
        builder = builder
            .set_buckets_for_metric(Matcher::Full(name.into()), buckets)
            .expect("every histogram in `names` has buckets");
    }
    let recorder = builder.build_recorder();
    let handle = recorder.handle();
    (std::sync::Arc::new(recorder), handle)
}

impl Installed {
    /// The Prometheus text of every series, gauges sampled now; `None` without the Prometheus exporter.
    pub fn render(&self) -> Option<String> {
        let handle = self.prometheus.as_ref()?;
        gauges::refresh();
        Some(handle.render())
    }

    /// Writes what happened since the last flush to stdout as EMF lines (nothing without EMF).
    pub fn flush_emf(&self) {
        let Some(emf) = &self.emf else { return };
        gauges::refresh();
        if let Err(e) = emf.flush_to(&mut std::io::stdout().lock()) {
            tracing::warn!(error = %e, "metrics: EMF lines not written");
        }
    }

    /// Flushes EMF every `every` on a thread of its own, for a long-running process.
    pub fn flush_emf_every(&'static self, every: Duration) {
        if self.emf.is_some() {
            std::thread::spawn(move || {
                loop {
                    std::thread::sleep(every);
                    self.flush_emf();
                }
            });
        }
    }
}

/// The name of the running binary (`listener`, `call-analytics`), the default `Service` of a process.
pub fn binary_name() -> String {
    std::env::current_exe()
        .ok()
        .and_then(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "call-analytics".into())
}
