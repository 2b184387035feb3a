//! Voice activity per channel: cuts each side of a live call into utterances for speech-to-text, so a
//! transcript line arrives a moment after someone stops talking instead of after the call. Energy-based on
//! 20 ms frames against an adaptive noise floor (a noisy line raises the bar, a quiet one lowers it). Pure:
//! the pipeline feeds samples with their position on the AudioHook timeline, so pauses and discarded audio
//! keep offsets right.

use super::media::{Frames, RATE};
use std::collections::VecDeque;

/// Samples in one 20 ms analysis frame.
const FRAME: usize = (RATE / 50) as usize;
/// A frame is speech when its RMS is this many times the noise floor (about 10 dB) and at least `min_rms`.
const SPEECH_RATIO: f64 = 3.0;
/// Per-frame noise floor smoothing: it falls fast to a quieter line, rises quickly through quiet frames and
/// very slowly through speech, so a talker does not raise the bar while a steady hum is absorbed in seconds.
const FLOOR_FALL: f64 = 0.2;
const FLOOR_RISE_QUIET: f64 = 0.05;
const FLOOR_RISE_SPEECH: f64 = 0.001;
/// The longest utterance any setting can ask for: bounds memory per channel.
const MAX_UTTERANCE_MS: u64 = 60_000;
/// A hole in the timeline up to this long (audio the client discarded: Genesys drops a little when it runs
/// behind) is bridged: nobody knows whether it held speech, so it neither ends nor starts an utterance.
const BRIDGE_SAMPLES: u64 = RATE as u64;

/// Voice activity settings (`LIVE_TRANSCRIPTION_*`, defaults in `Default`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CutterSettings {
    /// `LIVE_TRANSCRIPTION_START_FRAMES` (2): consecutive 20 ms speech frames that start an utterance.
    pub start_frames: u32,
    /// `LIVE_TRANSCRIPTION_HANGOVER_MS` (600): silence that ends an utterance.
    pub hangover_ms: u64,
    /// `LIVE_TRANSCRIPTION_MIN_UTTERANCE_MS` (300): speech shorter than this (a click, a cough) is dropped.
    pub min_ms: u64,
    /// `LIVE_TRANSCRIPTION_MAX_UTTERANCE_MS` (15000, at most 60000): longer speech is cut here, bounding
    /// memory and how late a monologue is transcribed.
    pub max_ms: u64,
    /// `LIVE_TRANSCRIPTION_PRE_ROLL_MS` (200): audio kept before the first speech frame, for soft onsets.
    pub pre_roll_ms: u64,
    /// `LIVE_TRANSCRIPTION_MIN_RMS` (200): 16-bit RMS below which nothing is speech, however quiet the line.
    pub min_rms: f64,
}

impl Default for CutterSettings {
    fn default() -> Self {
        Self { start_frames: 2, hangover_ms: 600, min_ms: 300, max_ms: 15_000, pre_roll_ms: 200, min_rms: 200.0 }
    }
}

/// The settings in samples and frames, with bounds applied.
#[derive(Debug, Clone, Copy)]
struct Limits {
    start_frames: u32,
    hangover_frames: u32,
    min_samples: usize,
    max_samples: usize,
    pre_roll: usize,
    min_rms: f64,
}

impl Limits {
    fn new(s: &CutterSettings) -> Self {
        let samples = |ms: u64| (ms.min(MAX_UTTERANCE_MS) * u64::from(RATE) / 1000) as usize;
        Self {
            start_frames: s.start_frames.clamp(1, 50),
            hangover_frames: s.hangover_ms.div_ceil(20).clamp(1, 500) as u32,
            min_samples: samples(s.min_ms),
            max_samples: samples(s.max_ms).max(samples(1000)),
            pre_roll: samples(s.pre_roll_ms.min(1000)),
            min_rms: s.min_rms.max(0.0),
        }
    }
}

/// One stretch of speech on one channel.
#[derive(Debug, Clone, PartialEq)]
pub struct Utterance {
    /// Index in the session's channel order (0 is the first selected channel).
    pub channel: usize,
    /// Position of `samples[0]` on the session timeline.
    pub start_sample: u64,
    /// Mono 16-bit samples, pre-roll and hangover included.
    pub samples: Vec<i16>,
    /// Where speech was heard, on the session timeline: from the first speech frame to the end of the last
    /// (pre-roll and hangover left out). A Transcription Connector reports this as the utterance's place.
    pub voiced: std::ops::Range<u64>,
}

impl Utterance {
    /// Seconds from the start of the session.
    pub fn start_seconds(&self) -> f64 {
        self.start_sample as f64 / f64::from(RATE)
    }

    pub fn end_seconds(&self) -> f64 {
        self.start_sample.saturating_add(self.samples.len() as u64) as f64 / f64::from(RATE)
    }
}

/// Speech being collected on one channel.
struct Talk {
    start: u64,
    samples: Vec<i16>,
    /// Consecutive speech frames, until the talk is confirmed.
    run: u32,
    confirmed: bool,
    /// Where speech was first and last heard, as offsets into `samples`.
    first_voiced: Option<usize>,
    last_voiced: usize,
    /// Consecutive quiet frames.
    quiet: u32,
}

impl Talk {
    fn new(start: u64, samples: Vec<i16>, confirmed: bool, quiet: u32) -> Self {
        Self { start, samples, run: 0, confirmed, first_voiced: None, last_voiced: 0, quiet }
    }

    fn voiced(&self) -> usize {
        self.last_voiced - self.first_voiced.unwrap_or(self.last_voiced)
    }
}

#[derive(Default)]
struct Voice {
    /// `None` until the first frame seeds it (calls open on ringback or silence, not mid-word).
    floor: Option<f64>,
    /// A partial 20 ms frame and its timeline position.
    frame: Vec<i16>,
    frame_start: u64,
    /// The latest quiet audio, contiguous with what comes next.
    pre_roll: VecDeque<i16>,
    talk: Option<Talk>,
}

impl Voice {
    fn sample(&mut self, position: u64, s: i16, channel: usize, lim: &Limits, out: &mut Vec<Utterance>) {
        if self.frame.is_empty() {
            self.frame_start = position;
        }
        self.frame.push(s);
        if self.frame.len() == FRAME {
            let frame = std::mem::take(&mut self.frame);
            self.analyse(&frame, channel, lim, out);
            self.frame = frame;
            self.frame.clear();
        }
    }

    /// Whether a frame is speech, moving the noise floor.
    fn classify(&mut self, frame: &[i16], lim: &Limits) -> bool {
        let rms = (frame.iter().map(|s| f64::from(*s).powi(2)).sum::<f64>() / frame.len().max(1) as f64).sqrt();
        let floor = *self.floor.get_or_insert(rms);
        let speech = rms >= (floor * SPEECH_RATIO).max(lim.min_rms);
        let rate = match (rms < floor, speech) {
            (true, _) => FLOOR_FALL,
            (false, false) => FLOOR_RISE_QUIET,
            (false, true) => FLOOR_RISE_SPEECH,
        };
        self.floor = Some(floor + rate * (rms - floor));
        speech
    }

    fn analyse(&mut self, frame: &[i16], channel: usize, lim: &Limits, out: &mut Vec<Utterance>) {
        let speech = self.classify(frame, lim);
        if self.talk.is_none() {
            if !speech {
                return self.keep_pre_roll(frame, lim);
            }
            let pre: Vec<i16> = self.pre_roll.drain(..).collect();
            self.talk = Some(Talk::new(self.frame_start.saturating_sub(pre.len() as u64), pre, false, 0));
        }
        self.advance(frame, speech, channel, lim, out);
    }

    /// Moves the talk on by one frame: confirm it, drop a false start, end it after the hangover, or cut it
    /// at the maximum length.
    fn advance(&mut self, frame: &[i16], speech: bool, channel: usize, lim: &Limits, out: &mut Vec<Utterance>) {
        let Some(t) = self.talk.as_mut() else { return };
        t.samples.extend_from_slice(frame);
        if speech {
            t.first_voiced.get_or_insert(t.samples.len() - frame.len());
            t.last_voiced = t.samples.len();
            (t.run, t.quiet) = (t.run + 1, 0);
            t.confirmed |= t.run >= lim.start_frames;
        } else if !t.confirmed {
            // A false start: it was quiet audio after all.
            let samples = std::mem::take(&mut t.samples);
            self.talk = None;
            return self.keep_pre_roll(&samples, lim);
        } else {
            (t.run, t.quiet) = (0, t.quiet + 1);
        }
        if t.quiet >= lim.hangover_frames {
            self.end(channel, lim, out);
        } else if t.samples.len() >= lim.max_samples {
            let (next, quiet) = (t.start.saturating_add(t.samples.len() as u64), t.quiet);
            self.end(channel, lim, out);
            // The talker goes on: the next piece starts right here, without pre-roll.
            self.talk = Some(Talk::new(next, Vec::new(), true, quiet));
        }
    }

    fn keep_pre_roll(&mut self, samples: &[i16], lim: &Limits) {
        self.pre_roll.extend(samples);
        let excess = self.pre_roll.len().saturating_sub(lim.pre_roll);
        self.pre_roll.drain(..excess);
    }

    /// Ends the current talk: an utterance if it was confirmed speech of the minimum length.
    fn end(&mut self, channel: usize, lim: &Limits, out: &mut Vec<Utterance>) {
        if let Some(t) = self.talk.take()
            && t.confirmed
            && t.voiced() >= lim.min_samples.max(1)
        {
            let from = t.start.saturating_add(t.first_voiced.unwrap_or(0) as u64);
            let voiced = from..t.start.saturating_add(t.last_voiced as u64).max(from);
            out.push(Utterance { channel, start_sample: t.start, samples: t.samples, voiced });
        }
    }

    /// Bridges `hole` samples the client never sent: an utterance under way spans them (as silence for the
    /// engine, unclassified, so they do not count towards its hangover); quiet audio before them is forgotten.
    fn bridge(&mut self, hole: usize) {
        let partial = std::mem::take(&mut self.frame);
        self.pre_roll.clear();
        if let Some(t) = self.talk.as_mut() {
            t.samples.extend(partial);
            t.samples.resize(t.samples.len() + hole, 0);
        }
    }

    /// Ends whatever is under way (a partial frame joins a talk) and forgets audio before a timeline jump.
    fn flush(&mut self, channel: usize, lim: &Limits, out: &mut Vec<Utterance>) {
        if let Some(t) = self.talk.as_mut() {
            t.samples.append(&mut self.frame);
        }
        self.end(channel, lim, out);
        self.frame.clear();
        self.pre_roll.clear();
    }
}

/// Utterances of every channel of one session.
pub struct UtteranceCutter {
    limits: Limits,
    voices: Vec<Voice>,
    /// Timeline position just after the last sample received.
    next: u64,
}

impl UtteranceCutter {
    pub fn new(settings: &CutterSettings, channels: usize) -> Self {
        let voices = (0..channels.max(1)).map(|_| Voice::default()).collect();
        Self { limits: Limits::new(settings), voices, next: 0 }
    }

    /// Adds interleaved audio at `offset` on the session timeline; returns the utterances it completed.
    pub fn push(&mut self, offset: u64, frames: &Frames) -> Vec<Utterance> {
        let mut out = Vec::new();
        let width = self.voices.len();
        match offset.checked_sub(self.next) {
            Some(0) => {}
            Some(hole) if hole <= BRIDGE_SAMPLES => self.voices.iter_mut().for_each(|v| v.bridge(hole as usize)),
            // Paused or discarded for longer: nobody is heard across the jump.
            _ => out = self.finish(),
        }
        if frames.channels != width {
            return out;
        }
        for (channel, voice) in self.voices.iter_mut().enumerate() {
            for (i, s) in frames.samples.iter().skip(channel).step_by(width).enumerate() {
                voice.sample(offset.saturating_add(i as u64), *s, channel, &self.limits, &mut out);
            }
        }
        self.next = offset.saturating_add(frames.len() as u64);
        out
    }

    /// The end of the session (or of a stretch of timeline): whatever speech is still open.
    pub fn finish(&mut self) -> Vec<Utterance> {
        let mut out = Vec::new();
        for (channel, voice) in self.voices.iter_mut().enumerate() {
            voice.flush(channel, &self.limits, &mut out);
        }
        out
    }
}

#[cfg(test)]
#[path = "utterances_tests.rs"]
mod tests;
