//! Key material: the primitives that create, read and check keys, importing
//! nothing but `error`. `age` holds the age identities and recipients that
//! encrypt archives (the only code that parses them), `signing` the
//! organisation's Ed25519 key and its minisign-format signatures, `paper`
//! the printable recovery kit.

mod age;
pub mod paper;
pub mod signing;

pub use self::age::{
    Identities, Recipient, check, generate, parse_recipient, read_passphrase_file,
    read_recipients_file, write_new_identity, write_private,
};
pub(crate) use self::age::{header_error, map_decrypt_error};
