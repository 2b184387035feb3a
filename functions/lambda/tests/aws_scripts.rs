//! The scripts behind `make aws-build`, `make aws-deploy` and `make aws-web`, run for real in a sandbox: a
//! copy of them in a temporary project, with every outside command they call (apt-get, python3 and the
//! venv's pip, cargo, rustup, sam, aws) replaced by a fake that records its arguments, and a PATH of only
//! those fakes and basic shell tools. Nothing is installed or deployed; what would be is in the record.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const SCRIPTS: [&str; 9] = [
    "apt.sh",
    "venv.sh",
    "aws-tools.sh",
    "aws-build.sh",
    "aws-deploy.sh",
    "samconfig.py",
    "sam",
    "deploy-web.sh",
    "web.sh",
];

/// Shell tools the scripts use, linked into the sandbox's PATH from the host.
const TOOLS: [&str; 12] = ["bash", "sh", "env", "mkdir", "grep", "cat", "id", "dirname", "rm", "chmod", "pwd", "sed"];

fn which(name: &str) -> PathBuf {
    std::env::split_paths(&std::env::var_os("PATH").unwrap())
        .map(|d| d.join(name))
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("{name} is not on PATH"))
}

struct Sandbox {
    dir: tempfile::TempDir,
}

/// A fake command: records `name args` in the log, then runs `then` (shell).
fn fake(path: &Path, name: &str, then: &str) {
    let script = format!("#!/bin/sh\necho \"{name} $*\" >> \"$CALLS\"\n{then}\n");
    std::fs::write(path, script).unwrap();
    Command::new("chmod").arg("+x").arg(path).status().unwrap();
}

impl Sandbox {
    /// A project with the deploy scripts; `apt` puts a fake apt-get on PATH (Debian), `venv_module` says
    /// whether python3 has its venv module.
    fn new(apt: bool, venv_module: bool) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let (scripts, bin) = (dir.path().join("scripts"), dir.path().join("bin"));
        std::fs::create_dir_all(&scripts).unwrap();
        std::fs::create_dir_all(&bin).unwrap();
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts");
        for s in SCRIPTS {
            std::fs::copy(root.join(s), scripts.join(s)).unwrap();
        }
        fake(&scripts.join("web.sh"), "web.sh", "");
        for tool in TOOLS {
            std::os::unix::fs::symlink(which(tool), bin.join(tool)).unwrap();
        }
        // The interpreter itself: python3 on PATH may be a wrapper (pyenv) that needs the host's environment.
        let python = Command::new(which("python3")).args(["-c", "import sys; print(sys.executable)"]).output().unwrap();
        let python = String::from_utf8(python.stdout).unwrap().trim().to_string();
        let venv_python =
            format!("case \"$1\" in -m) [ \"$3\" = show ] && exit 1; exit 0;; esac\nexec {python} \"$@\"");
        let make_venv = format!(
            "mkdir -p .venv/bin && printf '%s\\n' '#!/bin/sh' 'echo \"pip $*\" >> \"$CALLS\"' '{}' > .venv/bin/python \
             && printf '%s\\n' '#!/bin/sh' 'echo \"sam $*\" >> \"$CALLS\"' 'mkdir -p .aws-sam' > .venv/bin/sam \
             && chmod +x .venv/bin/python .venv/bin/sam",
            venv_python.replace('\n', "' '")
        );
        let python3 = format!(
            "case \"$1\" in -c) exit {};; -m) [ \"$2\" = venv ] && {{ {make_venv}; }};; *) exec {python} \"$@\";; esac",
            if venv_module { 0 } else { 1 },
        );
        fake(&bin.join("python3"), "python3", &python3);
        fake(&bin.join("cargo"), "cargo", "");
        fake(&bin.join("rustup"), "rustup", "");
        fake(&bin.join("sudo"), "sudo", "exec \"$@\"");
        // The stack's outputs: a stack without the web UI has no WebBucketName (the CLI prints None).
        fake(&bin.join("aws"), "aws", "case \"$*\" in *WebBucketName*) echo None;; *) echo https://x.example;; esac");
        if apt {
            fake(&bin.join("apt-get"), "apt-get", "");
        }
        Self { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn run(&self, script: &str, args: &[&str], env: &[(&str, &str)]) -> Output {
        Command::new(self.path("bin/bash"))
            .arg(self.path("scripts").join(script))
            .args(args)
            .env_clear()
            .env("PATH", self.path("bin"))
            .env("CALLS", self.path("calls"))
            .envs(env.iter().copied())
            .output()
            .unwrap()
    }

    /// Every recorded call, one a line.
    fn calls(&self) -> Vec<String> {
        std::fs::read_to_string(self.path("calls")).unwrap_or_default().lines().map(String::from).collect()
    }

    fn samconfig(&self, overrides: &str) {
        let text = format!("version = 0.1\n[default.deploy.parameters]\nparameter_overrides = {overrides:?}\n");
        std::fs::write(self.path("samconfig.toml"), text).unwrap();
    }
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// `make aws-build` installs the venv with the SAM CLI and cargo-lambda (Zig comes with it) and builds;
/// not the test suite's tools (Chromium, a JRE, ffmpeg, espeak-ng, npm, cmake, whisper model sources).
#[test]
fn aws_build_installs_only_what_sam_build_needs() {
    let make = Command::new("make")
        .args(["-n", "aws-build"])
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."))
        .output()
        .unwrap();
    let planned = String::from_utf8_lossy(&make.stdout);
    assert!(make.status.success() && !planned.contains("scripts/tools.sh"), "make aws-build runs:\n{planned}");
    assert!(planned.contains("scripts/aws-build.sh"), "{planned}");

    let sandbox = Sandbox::new(true, false);
    let out = sandbox.run("aws-build.sh", &[], &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let calls = sandbox.calls();
    let apt: Vec<&String> = calls.iter().filter(|c| c.starts_with("apt-get install")).collect();
    assert_eq!(apt, ["apt-get install -y -qq python3-venv"], "{calls:#?}");
    let pip: Vec<&String> = calls.iter().filter(|c| c.starts_with("pip -m pip install")).collect();
    assert_eq!(pip, ["pip -m pip install -q aws-sam-cli==1.170.0", "pip -m pip install -q cargo-lambda==1.9.2"]);
    assert!(calls.contains(&"sam build --parameter-overrides Architecture=x86_64".to_string()), "{calls:#?}");
    assert_eq!(std::fs::read_to_string(sandbox.path(".aws-sam/architecture")).unwrap(), "x86_64\n");
}

/// Off Debian (no apt-get), a missing prerequisite is named instead of an apt-get call failing.
#[test]
fn off_debian_the_build_names_what_to_install() {
    let no_venv = Sandbox::new(false, false);
    let out = no_venv.run("aws-build.sh", &[], &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("please install Python 3 with its venv module"), "{}", stderr(&out));

    let no_rust = Sandbox::new(false, true);
    std::fs::remove_file(no_rust.path("bin/cargo")).unwrap();
    let out = no_rust.run("aws-build.sh", &[], &[]);
    assert!(stderr(&out).contains("please install Rust (cargo)"), "{}", stderr(&out));
    assert!(no_rust.calls().iter().all(|c| !c.starts_with("pip")), "nothing installed before that");

    let ready = Sandbox::new(false, true);
    let out = ready.run("aws-build.sh", &[], &[]);
    assert!(out.status.success(), "with Python and Rust there, no apt-get is needed: {}", stderr(&out));
}

/// The architecture built is the stack's: ARCH, else what samconfig.toml deploys (from an earlier guided
/// deploy), with the aarch64 Rust target added for arm64.
#[test]
fn aws_build_builds_for_the_stacks_architecture() {
    let asked = Sandbox::new(false, true);
    assert!(asked.run("aws-build.sh", &[], &[("ARCH", "arm64")]).status.success());
    let calls = asked.calls();
    assert!(calls.contains(&"rustup target add aarch64-unknown-linux-gnu".to_string()), "{calls:#?}");
    assert!(calls.contains(&"sam build --parameter-overrides Architecture=arm64".to_string()), "{calls:#?}");

    let configured = Sandbox::new(false, true);
    configured.samconfig("Architecture=\"arm64\" SttProvider=\"none\"");
    assert!(configured.run("aws-build.sh", &[], &[]).status.success());
    assert!(configured.calls().contains(&"sam build --parameter-overrides Architecture=arm64".to_string()));
    assert_eq!(std::fs::read_to_string(configured.path(".aws-sam/architecture")).unwrap(), "arm64\n");

    let wrong = Sandbox::new(false, true);
    let out = wrong.run("aws-build.sh", &[], &[("ARCH", "aarch64")]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(wrong.calls().iter().all(|c| !c.starts_with("sam ")));
}

/// x86_64 binaries on arm64 Lambdas fail every call: the deploy refuses before `sam deploy` runs, and
/// otherwise passes the built architecture along with the stack's other saved parameters.
#[test]
fn aws_deploy_refuses_a_build_for_the_other_architecture() {
    let sandbox = Sandbox::new(false, true);
    assert!(sandbox.run("aws-build.sh", &[], &[]).status.success());
    sandbox.samconfig("Architecture=\"arm64\" SttProvider=\"none\"");
    let out = sandbox.run("aws-deploy.sh", &["--guided"], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("built for x86_64 but samconfig.toml deploys Architecture=arm64"),
        "{}",
        stderr(&out)
    );
    assert!(sandbox.calls().iter().all(|c| !c.starts_with("sam deploy")), "{:#?}", sandbox.calls());

    // As `sam deploy --guided` saves them: double quotes, which keep a value's spaces.
    sandbox.samconfig(r#"Architecture="x86_64" SttProvider="none" GenesysTopics="v2.a, v2.b""#);
    let out = sandbox.run("aws-deploy.sh", &["--guided"], &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let deploy = sandbox.calls().into_iter().find(|c| c.starts_with("sam deploy")).unwrap();
    let expected = r#"sam deploy --parameter-overrides Architecture="x86_64" SttProvider="none" GenesysTopics="v2.a, v2.b" --guided"#;
    assert_eq!(deploy, expected);
}

/// A stack deployed without the web UI has no bucket to publish to: refused with the way out, before the
/// UI is built or anything is uploaded.
#[test]
fn aws_web_refuses_a_stack_without_the_web_ui() {
    let sandbox = Sandbox::new(false, true);
    let out = sandbox.run("deploy-web.sh", &["call-analytics"], &[]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("has no web UI (deployed with DeployWebUi=false)"), "{}", stderr(&out));
    let calls = sandbox.calls();
    assert!(calls.iter().all(|c| !c.starts_with("web.sh") && !c.starts_with("aws s3")), "{calls:#?}");
}
