//! Uploads that decode to far more than they weigh, against the real `call-analytics serve` process: a FLAC
//! of silence at 384 kHz is a few kilobytes a minute but hundreds of megabytes once decoded at its own rate.
//! The server's peak resident memory (`VmHWM`) must stay near what the audio costs at the target rate, a
//! recording over `AUDIO_MAX_DECODED_BYTES` must fail with a reason a person understands, and the process,
//! which runs the batch workers in-process, must go on answering.

mod common;
#[path = "../../shared/tests/flac/mod.rs"]
mod flac;

use reqwest::multipart::{Form, Part};
use serde_json::Value;
use std::process::Child;
use std::time::{Duration, Instant};

/// What the server may reach at its peak. It idles near 26 MB (a debug build); the 300 s call costs 9.6 MB
/// decoded (16 kHz, 16-bit, one channel) and as much again as its one piece (measured: 63 MB at the peak), so
/// 150 MB leaves room for allocator slack and HTTP buffers, while decoding at the source rate cannot fit
/// (`f32` at 384 kHz is 460 MB: the server peaked at 502 MB that way).
const PEAK_RSS_BYTES: u64 = 150_000_000;
/// The decoded bound for the server: above the 300 s call's 9.6 MB, below the 600 s call's 19.2 MB.
const MAX_DECODED_BYTES: &str = "15000000";

/// The server process, killed if the test fails before stopping it.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        if self.0.try_wait().ok().flatten().is_none() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// Starts `call-analytics serve` on `dir` with `stt` as its transcription server; returns the process and its
/// base URL.
fn serve(dir: &std::path::Path, stt: &str) -> (Server, String) {
    let (child, base) = common::serve_binary(
        dir,
        &[
            ("STT_PROVIDER", "openai"),
            ("STT_BASE_URL", stt),
            ("ENABLE_NOISE_SUPPRESSION", "false"),
            ("AUDIO_MAX_DECODED_BYTES", MAX_DECODED_BYTES),
        ],
    );
    (Server(child), base)
}

fn peak_rss(server: &Server) -> u64 {
    common::process::peak_rss(server.0.id())
}

async fn upload(http: &reqwest::Client, base: &str, name: &str, bytes: Vec<u8>) -> String {
    let form = Form::new().part("file", Part::bytes(bytes).file_name(name.to_string()));
    let resp = http.post(format!("{base}/api/calls")).bearer_auth(common::SUPERVISOR).multipart(form).send().await;
    let v: Value = resp.unwrap().json().await.unwrap();
    v["id"].as_str().unwrap_or_else(|| panic!("{v}")).to_string()
}

async fn get(http: &reqwest::Client, url: &str) -> Value {
    http.get(url).bearer_auth(common::SUPERVISOR).send().await.unwrap().json().await.unwrap()
}

/// Polls the call until it is completed or failed (at most 5 min: a debug build resamples slowly).
async fn settled(http: &reqwest::Client, base: &str, id: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let v = get(http, &format!("{base}/api/calls/{id}")).await;
        if v["status"] == "completed" || v["status"] == "failed" {
            return v;
        }
        assert!(Instant::now() < deadline, "call {id} did not settle: {v}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flac_bomb_costs_its_target_rate_not_its_source_rate_and_one_over_the_bound_fails() {
    let stt = common::fake_stt().await;
    let dir = tempfile::TempDir::new().unwrap();
    let http = reqwest::Client::new();
    let (mut server, base) = serve(dir.path(), &stt);

    // 300 s at 384 kHz, its length in the header: within every bound, so it completes.
    let within = flac::silence(384_000, 1, 300.0, true);
    assert!(within.len() < 100_000, "the bomb weighs {} bytes", within.len());
    let id = upload(&http, &base, "within.flac", within).await;
    let v = settled(&http, &base, &id).await;
    assert_eq!(v["status"], "completed", "{v}");
    let detail = get(&http, &format!("{base}/api/calls/{id}/detail")).await;
    assert_eq!(detail["duration_seconds"], 300.0);
    let peak = peak_rss(&server);
    assert!(peak < PEAK_RSS_BYTES, "the server peaked at {} MB preparing the 300 s call", peak / 1_000_000);

    // 600 s, length unknown until decoded: 19.2 MB at 16 kHz, over the 15 MB bound while decoding.
    let id = upload(&http, &base, "over.flac", flac::silence(384_000, 1, 600.0, false)).await;
    let v = settled(&http, &base, &id).await;
    assert_eq!(v["status"], "failed", "{v}");
    let reason = v["error_message"].as_str().unwrap();
    assert!(reason.starts_with("The recording decodes to more than the 15.0 MB limit"), "{reason}");

    let peak = peak_rss(&server);
    assert!(peak < PEAK_RSS_BYTES, "the server peaked at {} MB refusing the 600 s call", peak / 1_000_000);
    assert!(server.0.try_wait().unwrap().is_none(), "the server exited");
    let list = get(&http, &format!("{base}/api/calls")).await;
    assert_eq!(list["total"], 2, "{list}");
    assert!(common::process::terminate(&mut server.0).success());
}
