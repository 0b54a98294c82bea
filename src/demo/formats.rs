//! The file formats the sample documents are written in, by hand and only as
//! far as the samples need: CSV field quoting (RFC 4180), base64 for mail
//! attachments, a JPEG-framed block of random bytes, and a one-page PDF.

use chrono::NaiveDateTime;

use super::tree::Rng;
use super::vocab::fold_char;

pub(super) fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

pub(super) fn base64(data: &[u8]) -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut s = String::with_capacity(data.len().div_ceil(3) * 4);
    for c in data.chunks(3) {
        let n = (c[0] as u32) << 16
            | (*c.get(1).unwrap_or(&0) as u32) << 8
            | *c.get(2).unwrap_or(&0) as u32;
        for i in 0..4 {
            if i <= c.len() {
                s.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                s.push('=');
            }
        }
    }
    s
}

/// Incompressible bytes framed as a JFIF JPEG (SOI/APP0 ... EOI).
pub(super) fn random_jpeg(rng: &mut Rng, len: usize) -> Vec<u8> {
    let mut v = vec![0u8; len.max(24)];
    rng.fill(&mut v);
    let head = b"\xFF\xD8\xFF\xE0\x00\x10JFIF\x00\x01\x01\x00\x00\x48\x00\x48\x00\x00";
    v[..head.len()].copy_from_slice(head);
    let n = v.len();
    v[n - 2..].copy_from_slice(b"\xFF\xD9");
    v
}

// Minimal PDF writer (correct xref offsets; Helvetica text; optional scanned-page image).

fn pdf_str(s: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '(' | ')' | '\\' => out.extend([b'\\', c as u8]),
            c if c.is_ascii_graphic() || c == ' ' => out.push(c as u8),
            c if (c as u32) >= 0xA0 && (c as u32) < 0x100 => {
                out.extend(format!("\\{:03o}", c as u32).bytes())
            }
            c => out.push(fold_char(c).unwrap_or('?') as u8),
        }
    }
    out
}

fn pdf_stream(extra: &str, data: &[u8]) -> Vec<u8> {
    let mut v = format!("<< /Length {}{extra} >>\nstream\n", data.len()).into_bytes();
    v.extend_from_slice(data);
    v.extend_from_slice(b"\nendstream");
    v
}

pub(super) fn pdf_doc(
    title: &str,
    created: NaiveDateTime,
    lines: &[String],
    scan: Option<&[u8]>,
) -> Vec<u8> {
    let mut content = Vec::new();
    if scan.is_some() {
        content.extend_from_slice(b"q 595 0 0 842 0 0 cm /Im1 Do Q\n");
    }
    content.extend_from_slice(b"BT /F1 10 Tf 50 790 Td 14 TL\n");
    for l in lines {
        content.push(b'(');
        content.extend(pdf_str(l));
        content.extend_from_slice(b") Tj T*\n");
    }
    content.extend_from_slice(b"ET");
    let xobj = if scan.is_some() {
        " /XObject << /Im1 6 0 R >>"
    } else {
        ""
    };
    let mut objs = vec![
        b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_vec(),
        format!(
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R \
             /Resources << /Font << /F1 5 0 R >>{xobj} >> >>"
        )
        .into_bytes(),
        pdf_stream("", &content),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"
            .to_vec(),
    ];
    if let Some(img) = scan {
        objs.push(pdf_stream(
            " /Type /XObject /Subtype /Image /Width 1240 /Height 1754 /ColorSpace /DeviceRGB \
             /BitsPerComponent 8 /Filter /DCTDecode",
            img,
        ));
    }
    let mut info = b"<< /Title (".to_vec();
    info.extend(pdf_str(title));
    info.extend(
        format!(
            ") /Producer (Het Blauwe Huis facturatie 2.3) /CreationDate (D:{}Z) >>",
            created.format("%Y%m%d%H%M%S")
        )
        .bytes(),
    );
    objs.push(info);

    let mut out = b"%PDF-1.4\n%\xE2\xE3\xCF\xD3\n".to_vec();
    let mut offsets = Vec::with_capacity(objs.len());
    for (i, o) in objs.iter().enumerate() {
        offsets.push(out.len());
        out.extend(format!("{} 0 obj\n", i + 1).bytes());
        out.extend_from_slice(o);
        out.extend_from_slice(b"\nendobj\n");
    }
    let xref = out.len();
    out.extend(format!("xref\n0 {}\n0000000000 65535 f \n", objs.len() + 1).bytes());
    for off in offsets {
        out.extend(format!("{off:010} 00000 n \n").bytes());
    }
    out.extend(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R /Info {} 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objs.len() + 1,
            objs.len()
        )
        .bytes(),
    );
    out
}
