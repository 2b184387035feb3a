//! Audio preparation speed and memory: decode (which resamples to the 16 kHz target as it goes) and full
//! `prepare` of a generated stereo call in each supported format, at a telephony rate (8 kHz) and a CD rate
//! (44.1 kHz), as × real time (seconds of audio per second of CPU on one core). Plain 16-bit WAV decode,
//! measured in the same run, is the baseline every speed is also given as a ratio to. Noise suppression's own
//! × real time is `prepare` with it on minus `prepare` with it off. Memory is `prepare`'s peak heap above what
//! was held before it (the upload), counted by this binary's allocator, as a ratio to the call at the target
//! rate (16-bit, 16 kHz, two channels): about 1 plus a piece, whatever the source rate.
//! Recordings are made by ffmpeg (installed by `scripts/tools.sh`).
//!
//! `cargo bench -p shared --bench audio_decode [-- --seconds N | --smoke]`

use shared::audio::{AudioConfig, decode, prepare};
use std::alloc::{GlobalAlloc, Layout, System};
use std::process::{Command, ExitCode};
use std::sync::atomic::{AtomicUsize, Ordering};

/// The system allocator, counting the bytes it has out and the most it had.
struct Counting;

static HELD: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn grew(bytes: usize) {
    let now = HELD.fetch_add(bytes, Ordering::Relaxed) + bytes;
    PEAK.fetch_max(now, Ordering::Relaxed);
}

// SAFETY: every call is passed to `System` unchanged; only the counters are added.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract is `System`'s.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as for `alloc`.
        unsafe { System.dealloc(ptr, layout) };
        HELD.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as for `alloc`.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            HELD.fetch_sub(layout.size(), Ordering::Relaxed);
            grew(new_size);
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// The most `f` held on the heap at once beyond what was held before it, in bytes.
fn peak_heap(f: impl FnOnce()) -> usize {
    let before = HELD.load(Ordering::Relaxed);
    PEAK.store(before, Ordering::Relaxed);
    f();
    PEAK.load(Ordering::Relaxed) - before
}

const FORMATS: [(&str, &[&str]); 6] = [
    ("wav", &["-c:a", "pcm_s16le"]),
    ("ulaw.wav", &["-c:a", "pcm_mulaw"]),
    ("mp3", &["-c:a", "libmp3lame", "-b:a", "64k"]),
    ("m4a", &["-c:a", "aac", "-b:a", "64k"]),
    ("ogg", &["-c:a", "libvorbis", "-q:a", "3"]),
    ("flac", &["-c:a", "flac"]),
];

struct Args {
    seconds: u32,
    iterations: u32,
}

fn args() -> Args {
    let mut a = Args { seconds: 60, iterations: 3 };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--smoke" => a = Args { seconds: 2, iterations: 1 },
            "--seconds" => a.seconds = it.next().and_then(|v| v.parse().ok()).unwrap_or(a.seconds).max(1),
            _ => {} // cargo passes --bench and friends
        }
    }
    a
}

/// A stereo call at `rate`: a tone plus some hiss on each side, in `ext`'s format.
fn recording(dir: &std::path::Path, rate: u32, seconds: u32, ext: &str, options: &[&str]) -> Result<Vec<u8>, String> {
    let path = dir.join(format!("call_{rate}.{ext}"));
    let side = |hz: u32| format!("sine=frequency={hz}:duration={seconds}:sample_rate={rate}");
    let hiss = format!("anoisesrc=color=pink:amplitude=0.02:duration={seconds}:sample_rate={rate}");
    let graph = "[0][2]amix=inputs=2[l];[1][2]amix=inputs=2[r];[l][r]join=inputs=2:channel_layout=stereo[a]";
    let status = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-y"])
        .args(["-f", "lavfi", "-i", &side(440), "-f", "lavfi", "-i", &side(1000), "-f", "lavfi", "-i", &hiss])
        .args(["-filter_complex", graph, "-map", "[a]"])
        .args(options)
        .arg(&path)
        .status()
        .map_err(|e| format!("ffmpeg is needed to make the recordings ({e}); run scripts/tools.sh"))?;
    if !status.success() {
        return Err(format!("ffmpeg failed to write {}", path.display()));
    }
    std::fs::read(&path).map_err(|e| e.to_string())
}

/// CPU time this thread has used, in seconds: what "× real time on one core" divides by, and steady when
/// other processes share the cores (wall time is not).
fn cpu_seconds() -> f64 {
    let mut t = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime only writes the timespec it is given.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut t) };
    t.tv_sec as f64 + t.tv_nsec as f64 * 1e-9
}

/// Best of `iterations` runs of `f`, in seconds of CPU.
fn best(iterations: u32, mut f: impl FnMut()) -> f64 {
    (0..iterations)
        .map(|_| {
            let started = cpu_seconds();
            f();
            cpu_seconds() - started
        })
        .fold(f64::INFINITY, f64::min)
}

fn main() -> ExitCode {
    let a = args();
    let dir = match tempfile::tempdir() {
        Ok(dir) => dir,
        Err(e) => {
            eprintln!("audio_decode: no temp dir: {e}");
            return ExitCode::FAILURE;
        }
    };
    let plain = AudioConfig { noise_suppression: false, ..AudioConfig::default() };
    let denoised = AudioConfig { noise_suppression: true, ..AudioConfig::default() };
    let audio = f64::from(a.seconds);
    // The call at the target rate: 16-bit, two channels.
    let at_target = audio * f64::from(plain.target_rate) * 2.0 * 2.0;
    println!("audio_decode: {} s stereo call, best of {}, × real time (ratio to WAV decode)", a.seconds, a.iterations);
    println!("peak: prepare's peak heap in MB (ratio to the call at the target rate, {:.1} MB)", at_target / 1e6);
    for rate in [8_000, 44_100] {
        let mut baseline = None;
        println!("{rate} Hz          decode                prepare               peak");
        for (ext, options) in FORMATS {
            let bytes = match recording(dir.path(), rate, a.seconds, ext, options) {
                Ok(bytes) => bytes,
                Err(e) => {
                    eprintln!("audio_decode: {e}");
                    return ExitCode::FAILURE;
                }
            };
            let name = format!("call.{ext}");
            if let Err(e) = prepare(&bytes, Some(&name), &plain) {
                eprintln!("audio_decode: {name} at {rate} Hz: {e}");
                return ExitCode::FAILURE;
            }
            let decode_rt = audio / best(a.iterations, || drop(decode(&bytes, Some(&name), &plain)));
            let prepare_rt = audio / best(a.iterations, || drop(prepare(&bytes, Some(&name), &plain)));
            let peak = peak_heap(|| drop(prepare(&bytes, Some(&name), &plain))) as f64;
            let base = *baseline.get_or_insert(decode_rt);
            println!(
                "  {ext:<9} {decode_rt:>9.0}× ({:>6.3})   {prepare_rt:>7.0}× ({:>6.3})   {:>7.1} ({:>5.2})",
                decode_rt / base,
                prepare_rt / base,
                peak / 1e6,
                peak / at_target
            );
            if ext == "wav" {
                let with_noise = best(a.iterations, || drop(prepare(&bytes, Some(&name), &denoised)));
                let noise_only = with_noise - audio / prepare_rt;
                let noise_peak = peak_heap(|| drop(prepare(&bytes, Some(&name), &denoised))) as f64;
                println!(
                    "  wav + noise suppression: prepare {:.0}× ({:.3}); suppression alone {:.0}× ({:.3}); peak {:.1} ({:.2})",
                    audio / with_noise,
                    audio / with_noise / base,
                    audio / noise_only,
                    audio / noise_only / base,
                    noise_peak / 1e6,
                    noise_peak / at_target
                );
            }
        }
    }
    ExitCode::SUCCESS
}
