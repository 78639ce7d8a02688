//! A hostile task program for re-execution (the `task-program` world, no
//! imports): the task's data picks the attack (`loop`, `memory`, `output`,
//! `trap`, `stack`). Each must end undecided, with its cause, in time.

wit_bindgen::generate!({ path: "../../wit", world: "task-program" });

#[path = "../../attack.rs"]
mod attack;

struct Program;

impl Guest for Program {
    fn execute(input: Vec<u8>) -> Result<Vec<u8>, String> {
        attack::attack(core::str::from_utf8(&input).unwrap_or(""))
    }
}

export!(Program);
