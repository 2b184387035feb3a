//! The web UI (`web/`, built into `WEB_DIR`): the app's pages (`/`, `/calls`, `/calls/{id}`) answer with
//! its `index.html`, `/assets/` serves its files and `/config.json` its settings when there are any (none
//! locally: same origin, token sign-in). The pages hold no data; every call they make goes
//! through the API with the supervisor credential.

use axum::Router;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use std::path::Path;
use tower_http::services::{ServeDir, ServeFile};

/// Shown on every page when the UI was not built (`make run` builds it).
const NOT_BUILT: &str = "<!doctype html><title>Call Analytics</title><h1>The web UI is not built</h1>\
<p>Run <code>make run</code> (it builds <code>web/</code>), or <code>npm ci --prefix web &amp;&amp; npm run build \
--prefix web</code>, or point <code>WEB_DIR</code> at a built UI. The API is available under <code>/api/</code>.</p>";

pub fn web_router<S: Clone + Send + Sync + 'static>(dir: &Path) -> Router<S> {
    let index = dir.join("index.html");
    if !index.is_file() {
        let page = || async { (StatusCode::SERVICE_UNAVAILABLE, Html(NOT_BUILT)).into_response() };
        return Router::new().route("/", get(page)).route("/calls", get(page)).route("/calls/{call_id}", get(page));
    }
    Router::new()
        .route_service("/", ServeFile::new(&index))
        .route_service("/calls", ServeFile::new(&index))
        .route_service("/calls/{call_id}", ServeFile::new(&index))
        .route_service("/config.json", ServeFile::new(dir.join("config.json")))
        .nest_service("/assets", ServeDir::new(dir.join("assets")))
}
