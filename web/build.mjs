// Bundles the app into dist/: index.html, assets/app.js (one ES module with its libraries) and assets/app.css.
import { build } from "esbuild";
import { cpSync, mkdirSync, rmSync } from "node:fs";

rmSync("dist", { recursive: true, force: true });
mkdirSync("dist/assets", { recursive: true });
await build({
  entryPoints: ["src/main.js"],
  bundle: true,
  format: "esm",
  minify: true,
  sourcemap: true,
  target: ["chrome110", "firefox110", "safari16"],
  outfile: "dist/assets/app.js",
  logLevel: "warning",
});
cpSync("src/index.html", "dist/index.html");
cpSync("src/app.css", "dist/assets/app.css");
console.log("web: built dist/");
