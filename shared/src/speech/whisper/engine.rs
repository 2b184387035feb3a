//! The whisper.cpp engine behind [`Transcriber`]: the model is loaded once into a shared `WhisperContext`;
//! each transcription gets its own `WhisperState` and runs on the blocking pool, so a call that takes
//! seconds of CPU never holds an async worker thread. Runs at once are limited to what the cores can
//! serve (`cores / WHISPER_THREADS`, at least one): more would only slow each other down and add a
//! state's memory each. The live handle ([`Whisper::alongside`]) encodes a window sized to the utterance
//! (see `window`) with one thread per run and one run per core.

use super::segments::{Decoded, Token, call_segments};
use super::settings::{self, WhisperSettings};
use super::squeeze::squeeze;
use super::window::{audio_ctx, max_tokens};
use crate::audio::{self, AudioConfig, AudioError};
use crate::speech::{Progress, Segment, SttError, Transcriber};
use async_trait::async_trait;
use std::ffi::{c_int, c_void};
use std::io::Read;
use std::sync::Arc;
use tokio::sync::{Semaphore, watch};
use whisper_rs::{
    FullParams, SamplingStrategy, WhisperContext, WhisperContextParameters, WhisperSegment, WhisperSysContext,
    WhisperSysState,
};

/// The rate whisper's mel front end expects.
const WHISPER_RATE: u32 = 16_000;
/// The ggml header: magic and the hyper-parameters.
const HEADER_BYTES: usize = 48;

pub struct Whisper {
    context: Arc<WhisperContext>,
    threads: usize,
    /// Runs at once through this handle: the cores over the threads of one run, at least one.
    runs: Arc<Semaphore>,
    /// The permits `runs` was made with.
    at_once: usize,
    /// Whether the encoder window is sized to the audio (live utterances) or whisper's full 30 s (batch
    /// pieces, whose figures and tests were measured that way).
    sized_window: bool,
}

impl Whisper {
    /// Loads the model file, at startup. Its header is checked first: whisper.cpp trusts it and throws a C++
    /// exception (which aborts the process) on a file that is not a ggml model. whisper.cpp then reads the
    /// file itself, so the weights are in memory once, not also as a copy of the file.
    pub fn load(settings: &WhisperSettings) -> Result<Self, SttError> {
        whisper_rs::install_logging_hooks();
        let path = &settings.model;
        let failed = |e: &dyn std::fmt::Display| SttError::Engine(format!("cannot load model {}: {e}", path.display()));
        let mut header = Vec::with_capacity(HEADER_BYTES);
        std::fs::File::open(path)
            .and_then(|f| f.take(HEADER_BYTES as u64).read_to_end(&mut header))
            .map_err(|e| failed(&e))?;
        crate::speech::whisper_model::inspect(&header).map_err(|e| failed(&e))?;
        let name = path.to_str().ok_or_else(|| failed(&"the path is not UTF-8"))?;
        let context =
            WhisperContext::new_with_params(name, WhisperContextParameters::default()).map_err(|e| failed(&e))?;
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        let most_runs = (cores / settings.threads).max(1);
        tracing::info!(model = %path.display(), threads = settings.threads, "whisper model loaded");
        let runs = Arc::new(Semaphore::new(most_runs));
        let context = Arc::new(context);
        Ok(Self { context, threads: settings.threads, runs, at_once: most_runs, sized_window: false })
    }

    /// Another handle on the same loaded model for live utterances, with its own bound on runs at once:
    /// they never queue behind work on this one (a batch piece takes a minute); they share the cores
    /// instead, each slowed while both run. Its runs encode a window sized to the utterance, one thread
    /// each, one run per core: on a short window more threads cost more CPU per utterance (ggml's threads
    /// wait on each other for every small layer) and the live path's throughput is what bounds the calls
    /// a core carries (docs/benchmarks.md, live transcription).
    pub fn alongside(&self) -> Self {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        let runs = Arc::new(Semaphore::new(cores));
        Self { context: self.context.clone(), threads: 1, runs, at_once: cores, sized_window: true }
    }
}

#[async_trait]
impl Transcriber for Whisper {
    async fn transcribe(&self, wav: Vec<u8>, language: Option<&str>) -> Result<Vec<Segment>, SttError> {
        let (progress, _waiting) = watch::channel(0.0);
        self.transcribe_reporting(wav, language, progress).await
    }

    async fn transcribe_reporting(
        &self,
        wav: Vec<u8>,
        language: Option<&str>,
        progress: Progress,
    ) -> Result<Vec<Segment>, SttError> {
        let multilingual = self.context.is_multilingual();
        let language = settings::language(multilingual, language, |l| whisper_rs::get_lang_id(l).is_some());
        let (context, threads, sized_window) = (self.context.clone(), self.threads, self.sized_window);
        let permit = self.runs.clone().acquire_owned().await.map_err(|e| SttError::Engine(e.to_string()))?;
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let samples = samples_16k(&wav)?;
            let window = Window { threads, sized: sized_window };
            run(&context, &samples, language.as_deref(), window, progress)
        })
        .await
        .map_err(|e| SttError::Engine(format!("transcription stopped: {e}")))?
    }

    fn runs_at_once(&self) -> Option<usize> {
        Some(self.at_once)
    }

    /// English for an English-only model (`.en`), else every language whisper.cpp knows.
    fn languages(&self) -> Option<Vec<String>> {
        if !self.context.is_multilingual() {
            return Some(vec!["en".into()]);
        }
        Some((0..=whisper_rs::get_lang_max_id()).filter_map(whisper_rs::get_lang_str).map(str::to_string).collect())
    }
}

/// One WAV (a piece or an utterance; channels averaged) as `f32` at 16 kHz, read by the project's decoder.
fn samples_16k(wav: &[u8]) -> Result<Vec<f32>, SttError> {
    let refused = |e: AudioError| SttError::Refused(e.to_string());
    let cfg = AudioConfig { target_rate: WHISPER_RATE, ..AudioConfig::default() };
    let planes = audio::decode(wav, Some("audio.wav"), &cfg).map_err(refused)?.planes;
    let share = 1.0 / planes.len().max(1) as f32;
    let frames = planes.iter().map(Vec::len).min().unwrap_or(0);
    Ok((0..frames).map(|i| planes.iter().map(|p| audio::to_f32(p[i])).sum::<f32>() * share).collect())
}

/// How one run encodes: its threads, and whether its window is sized to the audio.
#[derive(Clone, Copy)]
struct Window {
    threads: usize,
    sized: bool,
}

/// Runs whisper.cpp over `samples` (16 kHz mono) with their long silences taken out (segment times are the
/// call's); it slides its 30 s window over long audio by itself.
fn run(
    context: &WhisperContext,
    samples: &[f32],
    language: Option<&str>,
    window: Window,
    progress: Progress,
) -> Result<Vec<Segment>, SttError> {
    let heard = squeeze(samples, WHISPER_RATE);
    if heard.samples.is_empty() {
        return Ok(Vec::new());
    }
    let failed = |e: whisper_rs::WhisperError| SttError::Engine(e.to_string());
    let mut state = context.create_state().map_err(failed)?;
    let mut params = FullParams::new(SamplingStrategy::Greedy { best_of: 1 });
    params.set_n_threads(i32::try_from(window.threads).unwrap_or(1));
    if window.sized {
        params.set_audio_ctx(audio_ctx(heard.samples.len(), WHISPER_RATE));
        params.set_max_tokens(max_tokens(heard.samples.len(), WHISPER_RATE));
    }
    params.set_language(language);
    params.set_print_progress(false);
    params.set_print_realtime(false);
    params.set_print_timestamps(false);
    params.set_print_special(false);
    // Token times, to split a segment that spans a cut silence between its sentences (see `segments`).
    params.set_token_timestamps(true);
    // Whisper slides its 30 s window and reports each step; once nobody waits for the result (the
    // caller gave up or timed out) it stops at the next step instead of holding the cores.
    let progress_data = std::ptr::from_ref(&progress).cast_mut().cast::<c_void>();
    // SAFETY: both callbacks only read the `Progress` behind `progress_data`, which lives on this frame
    // until `full` has returned; whisper.cpp calls them only from within `full`.
    unsafe {
        params.set_progress_callback(Some(report_progress));
        params.set_progress_callback_user_data(progress_data);
        params.set_abort_callback(Some(abandoned));
        params.set_abort_callback_user_data(progress_data);
    }
    state.full(params, &heard.samples).map_err(failed)?;
    let first_special = context.token_eot();
    let centiseconds = |t: i64| t as f64 / 100.0;
    let decoded: Vec<Decoded> = state
        .as_iter()
        .map(|s| Decoded {
            start: centiseconds(s.start_timestamp()),
            end: centiseconds(s.end_timestamp()),
            tokens: tokens(&s, first_special),
        })
        .collect();
    Ok(call_segments(&decoded, &heard))
}

// whisper.cpp's callbacks, given the run's `Progress` as their data. (whisper-rs 0.16's closure setters
// leak their closure on every run, and its abort one calls the closure through the wrong type.)

/// Tells the caller the share of the audio done.
unsafe extern "C" fn report_progress(
    _: *mut WhisperSysContext,
    _: *mut WhisperSysState,
    percent: c_int,
    data: *mut c_void,
) {
    // SAFETY: `data` points at the `Progress` that `run` keeps alive for the whole run.
    let progress = unsafe { &*data.cast::<Progress>() };
    progress.send_replace((percent as f32 / 100.0).clamp(0.0, 1.0));
}

/// True (stop) once nobody waits for the result.
unsafe extern "C" fn abandoned(data: *mut c_void) -> bool {
    // SAFETY: as in `report_progress`.
    unsafe { &*data.cast::<Progress>() }.is_closed()
}

/// The text tokens of a whisper segment (ids below end-of-text; the rest are timestamps and other special
/// tokens) with their times in seconds (whisper counts centiseconds).
fn tokens(s: &WhisperSegment<'_>, first_special: i32) -> Vec<Token> {
    (0..s.n_tokens())
        .filter_map(|i| s.get_token(i))
        .filter(|t| t.token_id() < first_special)
        .map(|t| {
            let data = t.token_data();
            let bytes = t.to_bytes().map(<[u8]>::to_vec).unwrap_or_default();
            Token { t0: data.t0 as f64 / 100.0, t1: data.t1 as f64 / 100.0, bytes, probability: data.p }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::realtime::live_audio::AudioFormat;

    fn wav(format: &AudioFormat, samples: &[i16]) -> Vec<u8> {
        let pcm: Vec<u8> = samples.iter().flat_map(|v| v.to_le_bytes()).collect();
        crate::audio::wav::encode(format, &pcm)
    }

    #[test]
    fn wav_input_becomes_16_khz_mono_f32() {
        let mono = wav(&AudioFormat { sample_rate: 16_000, channels: 1, sample_width: 2 }, &[0, 16_384, -32_768]);
        assert_eq!(samples_16k(&mono).unwrap(), vec![0.0, 0.5, -1.0]);
        let stereo = wav(&AudioFormat { sample_rate: 16_000, channels: 2, sample_width: 2 }, &[16_384, 0]);
        assert_eq!(samples_16k(&stereo).unwrap(), vec![0.25], "channels averaged");
        let narrow = wav(&AudioFormat { sample_rate: 8_000, channels: 1, sample_width: 2 }, &[0; 8_000]);
        assert_eq!(samples_16k(&narrow).unwrap().len(), 16_000, "resampled to 16 kHz");
    }

    #[test]
    fn unreadable_audio_is_refused_not_a_panic() {
        assert!(matches!(samples_16k(b"not a wav"), Err(SttError::Refused(_))));
        assert!(matches!(samples_16k(&[]), Err(SttError::Refused(_))));
    }
}
