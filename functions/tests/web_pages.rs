//! The web UI as the local server hands it out: its pages answer with `index.html`, its assets are files,
//! unknown paths stay JSON 404s, and without a built UI every page says how to build it.

mod common;

use common::TestServer;

#[tokio::test]
async fn pages_and_assets_come_from_web_dir() {
    let web = tempfile::TempDir::new().unwrap();
    std::fs::create_dir_all(web.path().join("assets")).unwrap();
    std::fs::write(web.path().join("index.html"), "<!doctype html><title>UI</title>").unwrap();
    std::fs::write(web.path().join("assets/app.js"), "console.log(1)").unwrap();
    std::fs::write(web.path().join("config.json"), r#"{"api_base":"https://api.example"}"#).unwrap();
    let s = TestServer::start_with(&[("WEB_DIR", web.path().to_str().unwrap())]).await;
    for page in ["/", "/calls", "/calls/20260210101520123456"] {
        let r = s.http.get(s.url(page)).send().await.unwrap();
        assert_eq!(r.status(), 200, "{page}");
        assert_eq!(r.headers()["content-type"], "text/html", "{page}");
        assert!(r.text().await.unwrap().contains("<title>UI</title>"));
    }
    let js = s.http.get(s.url("/assets/app.js")).send().await.unwrap();
    assert_eq!((js.status().as_u16(), js.headers()["content-type"].to_str().unwrap()), (200, "text/javascript"));
    let cfg: serde_json::Value = s.http.get(s.url("/config.json")).send().await.unwrap().json().await.unwrap();
    assert_eq!(cfg["api_base"], "https://api.example");
    let missing = s.http.get(s.url("/assets/../index.html")).send().await.unwrap();
    assert_ne!(missing.status(), 500);
    let (status, v) = s.get("/nothing-here").await;
    assert_eq!((status.as_u16(), v), (404, serde_json::json!({"detail": "Not Found"})));
    s.stop().await;
}

#[tokio::test]
async fn without_a_built_ui_the_pages_say_how_to_build_it() {
    let s = TestServer::start_with(&[("WEB_DIR", "/nonexistent/web/dist")]).await;
    let r = s.http.get(s.url("/calls")).send().await.unwrap();
    assert_eq!(r.status(), 503);
    assert!(r.text().await.unwrap().contains("make run"));
    s.stop().await;
}
