//! Runs `examples/custom_verifier.rs`, so the example in the README cannot rot.

#[path = "../examples/custom_verifier.rs"]
mod example;

use taskproof_core::Verdict;

#[test]
fn the_custom_verifier_example_registers_and_judges() {
    let verdicts = example::run().unwrap();
    assert_eq!(verdicts[0], Verdict::Valid);
    assert_eq!(verdicts[1], Verdict::invalid("43 is not a multiple of 2"));
}
