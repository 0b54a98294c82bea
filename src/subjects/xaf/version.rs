//! Which XAF version a file is: the namespaces of the versions read, and the
//! root element that must be `auditfile` in one of them.

use quick_xml::events::BytesStart;
use quick_xml::name::PrefixDeclaration;

use super::error::{Position, XafError, malformed, shown};

/// The namespaces of the versions read, with the version each names.
const NAMESPACES: &[(&str, &str)] = &[
    ("http://www.auditfiles.nl/XAF/3.1", "3.1"),
    ("http://www.auditfiles.nl/XAF/3.2", "3.2"),
    (
        "http://www.odb.belastingdienst.nl/Belastingdienst/BCPP/1.0/structures/XmlAuditfileFinancieel3.2.1",
        "3.2.1",
    ),
    (
        "http://www.odb.belastingdienst.nl/Belastingdienst/BCPP/1.1/structures/XmlauditfileXAF_4.0",
        "4.0",
    ),
    ("http://www.odb.belastingdienst.nl/XAF/4.0", "4.0"),
    ("http://www.auditfiles.nl/XAF/4.0", "4.0"),
];

/// The version named by a root element, or why it names none. Only the
/// root's namespace matters, so it is looked up here rather than tracked for
/// every element.
pub(super) fn root_version(root: &BytesStart, at: Position) -> Result<&'static str, XafError> {
    let name = root.name();
    if name.local_name().as_ref() != b"auditfile" {
        return Err(XafError::NotXaf(format!(
            "the root element is <{}>, not <auditfile>",
            shown(name.as_ref())
        )));
    }
    let prefix = name.prefix();
    let mut namespace = None;
    for attribute in root.attributes() {
        let attribute = attribute.map_err(|error| malformed(at, error))?;
        let binds = match (attribute.key.as_namespace_binding(), prefix) {
            (Some(PrefixDeclaration::Default), None) => true,
            (Some(PrefixDeclaration::Named(bound)), Some(prefix)) => bound == prefix.as_ref(),
            _ => false,
        };
        if binds {
            namespace = Some(attribute.value);
        }
    }
    let Some(uri) = namespace else {
        return Err(XafError::NotXaf(
            "<auditfile> has no namespace (an XAF 2 / CLAIR file, which is not read, or no audit file)"
                .to_owned(),
        ));
    };
    version_of(&uri).ok_or_else(|| {
        XafError::NotXaf(format!(
            "<auditfile> has the namespace {}, which names no known version",
            shown(&uri)
        ))
    })
}

fn version_of(uri: &[u8]) -> Option<&'static str> {
    let uri = uri.strip_suffix(b"/").unwrap_or(uri);
    NAMESPACES
        .iter()
        .find(|(known, _)| known.as_bytes().eq_ignore_ascii_case(uri))
        .map(|(_, version)| *version)
}

pub(super) fn ends_with_ignore_case(name: &[u8], suffix: &[u8]) -> bool {
    name.len() >= suffix.len() && name[name.len() - suffix.len()..].eq_ignore_ascii_case(suffix)
}

#[cfg(test)]
mod tests {
    use crate::subjects::xaf::XafError;
    use crate::subjects::xaf::testing::{NS32, doc, refusal, run};

    #[test]
    fn namespace_variants_name_their_version() {
        for (namespace, version) in [
            ("http://www.odb.belastingdienst.nl/XAF/4.0", "4.0"),
            ("http://www.auditfiles.nl/XAF/4.0", "4.0"),
            ("HTTP://WWW.AUDITFILES.NL/xaf/3.2/", "3.2"),
            (
                "http://www.odb.belastingdienst.nl/Belastingdienst/BCPP/1.0/structures/XmlAuditfileFinancieel3.2.1",
                "3.2.1",
            ),
        ] {
            let xml = doc(NS32).render().replace(NS32, namespace);
            assert_eq!(run(&xml).0.unwrap().version, version, "{namespace}");
        }
        let prefixed = doc(NS32)
            .render()
            .replace("<auditfile xmlns=", "<x:auditfile xmlns:x=")
            .replace("</auditfile>", "</x:auditfile>");
        assert_eq!(run(&prefixed).0.unwrap().version, "3.2");
    }

    #[test]
    fn another_root_or_namespace_is_not_xaf() {
        let unknown = doc(NS32)
            .render()
            .replace(NS32, "http://www.auditfiles.nl/XAF/9.9");
        assert!(matches!(refusal(&unknown), XafError::NotXaf(what) if what.contains("XAF/9.9")));
        let none = doc(NS32)
            .render()
            .replace(&format!(" xmlns=\"{NS32}\""), "");
        assert!(matches!(refusal(&none), XafError::NotXaf(what) if what.contains("no namespace")));
        assert!(matches!(
            refusal("<Invoice xmlns=\"urn:x\"/>"),
            XafError::NotXaf(_)
        ));
        assert!(matches!(refusal(""), XafError::NotXaf(_)));
        let utf16 = doc(NS32).render().replace("UTF-8", "UTF-16");
        assert!(matches!(refusal(&utf16), XafError::NotXaf(_)));
    }
}
