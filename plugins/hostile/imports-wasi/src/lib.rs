//! A plugin that imports WASI's wall clock besides the host interface: a
//! plugin must see nothing but the world's imports, so the host refuses it
//! at load, naming the import.

wit_bindgen::generate!({ path: "wit", world: "verifier-with-clock", generate_all });


struct Clocked;

impl Guest for Clocked {
    fn verify(_params: String, _task: Task) -> Verdict {
        // Time makes verdicts differ between attesters.
        if wasi::clocks::wall_clock::now().seconds % 2 == 0 {
            Verdict::Valid
        } else {
            Verdict::Invalid("odd second".into())
        }
    }
}

export!(Clocked);
