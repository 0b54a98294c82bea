//! Issue 12: the organisation's signatures (archives, media, proofs of
//! destruction, shares) checked by stock `minisign` and `signify`; `kluis
//! verify` telling signed, unsigned, unknown-key and bad signatures apart;
//! the paper recovery kit (its QR code decoded by `zbarimg`); `rekey`,
//! also killed at every pause point; and `share`.

mod common;

#[path = "keys_and_signatures/interop.rs"]
mod interop;
#[path = "keys_and_signatures/paper.rs"]
mod paper;
#[path = "keys_and_signatures/rekey.rs"]
mod rekey;
#[path = "keys_and_signatures/share.rs"]
mod share;
#[path = "keys_and_signatures/vectors.rs"]
mod vectors;
#[path = "keys_and_signatures/verify.rs"]
mod verify;
