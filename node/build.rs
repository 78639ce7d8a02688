//! Records the git revision the binary is built from, for `--version` and
//! `taskproof_build_info`: `TASKPROOF_GIT_REVISION` when set (a build from a
//! source archive that knows its revision), else `git rev-parse` in the
//! checkout, else `unknown` (no git, or not a checkout).

use std::{path::Path, process::Command};

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8(out.stdout).ok()?;
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_owned())
}

fn main() {
    println!("cargo:rerun-if-env-changed=TASKPROOF_GIT_REVISION");
    let revision = match std::env::var("TASKPROOF_GIT_REVISION") {
        Ok(r) if !r.trim().is_empty() => r.trim().to_owned(),
        _ => {
            // Rebuild when HEAD moves: HEAD itself, the branch it points to,
            // and packed-refs. Only existing files are named, since cargo
            // reruns a build script whose named file is missing every time.
            let mut watched = vec!["HEAD".to_owned(), "packed-refs".to_owned()];
            if let Some(branch) = git(&["symbolic-ref", "-q", "HEAD"]) {
                watched.push(branch);
            }
            for name in watched {
                if let Some(path) =
                    git(&["rev-parse", "--path-format=absolute", "--git-path", &name])
                    && Path::new(&path).exists()
                {
                    println!("cargo:rerun-if-changed={path}");
                }
            }
            git(&["rev-parse", "--short=12", "HEAD"]).unwrap_or_else(|| "unknown".to_owned())
        }
    };
    println!("cargo:rustc-env=TASKPROOF_GIT_REVISION={revision}");
}
