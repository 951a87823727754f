//! RFC 8785 canonical JSON written straight from `serde`, without building a
//! `serde_json::Value` first.
//!
//! The derived ids and the hash chain are computed over canonical bytes (`docs/integrity.md`).
//! They were computed by serializing into a `serde_json::Value` (a tree that allocates every
//! key and every string) and writing that tree with its members sorted. This writer produces
//! the same bytes in one pass over one buffer: each object's members are written as they come,
//! their spans noted on a stack shared by every depth, and when the object ends its members
//! are put in key order in place. Inner objects are in order by then, so a member's bytes never
//! change once its own object has ended. Nothing is allocated per key or per string once the
//! buffers have grown.
//!
//! Anything outside what the domain's types use (floats, integers beyond 64 bits, map keys
//! other than strings, integers and unit variants, two members with one key) is an error: the
//! caller then takes the `serde_json::Value` path, so the bytes are that path's in every case.

use std::fmt::{self, Write as _};

use serde::ser::{self, Serialize};

/// Why the direct writer gave up; the caller takes the `serde_json::Value` path instead.
#[derive(Debug)]
pub(crate) struct Unsupported(String);

impl fmt::Display for Unsupported {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Unsupported {}

impl ser::Error for Unsupported {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Unsupported(msg.to_string())
    }
}

fn unsupported<T>(what: &str) -> Result<T, Unsupported> {
    Err(Unsupported(format!(
        "{what} is not written by the direct writer"
    )))
}

/// Appends the canonical JSON of `value` to `out`, leaving out the member `skip` of the
/// outermost object (`hash` of a record, `id` of an input). On an error, `out` holds a partial
/// write and must be discarded.
pub(crate) fn write<T: Serialize + ?Sized>(
    value: &T,
    skip: Option<&'static str>,
    out: &mut Vec<u8>,
) -> Result<(), Unsupported> {
    let mut writer = Canonical {
        out,
        members: Vec::with_capacity(32),
        scratch: Vec::new(),
        depth: 0,
        skip,
    };
    value.serialize(&mut writer)
}

/// A member of an object being written: its key and where its `"key":value` bytes lie.
struct Member {
    key: Key,
    start: usize,
    end: usize,
}

enum Key {
    Static(&'static str),
    Owned(String),
}

impl Key {
    fn as_str(&self) -> &str {
        match self {
            Key::Static(key) => key,
            Key::Owned(key) => key,
        }
    }
}

/// RFC 8785's order of keys: by UTF-16 code units (byte order for ASCII keys).
fn key_order(a: &str, b: &str) -> std::cmp::Ordering {
    if a.is_ascii() && b.is_ascii() {
        a.as_bytes().cmp(b.as_bytes())
    } else {
        a.encode_utf16().cmp(b.encode_utf16())
    }
}

struct Canonical<'o> {
    out: &'o mut Vec<u8>,
    /// The members of every object being written, innermost last.
    members: Vec<Member>,
    /// Room to reorder an object's bytes in.
    scratch: Vec<u8>,
    /// How many objects enclose the value being written.
    depth: usize,
    skip: Option<&'static str>,
}

/// An object, array or one-member wrapper being written.
pub(crate) struct Compound<'a, 'o> {
    ser: &'a mut Canonical<'o>,
    /// Where this object's members start in `members` (objects only).
    base: usize,
    /// Where its first member starts in `out`.
    start: usize,
    first: bool,
    /// The closing bytes: `]`, `}`, `]}` or `}}`.
    close: &'static [u8],
    /// A map's key, between `serialize_key` and `serialize_value`.
    pending_key: Option<String>,
}

impl<'o> Canonical<'o> {
    fn object<'a>(&'a mut self, close: &'static [u8]) -> Compound<'a, 'o> {
        self.out.push(b'{');
        self.depth += 1;
        let base = self.members.len();
        let start = self.out.len();
        Compound {
            ser: self,
            base,
            start,
            first: true,
            close,
            pending_key: None,
        }
    }

    fn array<'a>(&'a mut self, close: &'static [u8]) -> Compound<'a, 'o> {
        self.out.push(b'[');
        let start = self.out.len();
        Compound {
            base: self.members.len(),
            ser: self,
            start,
            first: true,
            close,
            pending_key: None,
        }
    }

    /// `{"variant":` before the value of a variant.
    fn open_variant(&mut self, variant: &str) {
        self.out.push(b'{');
        write_string(variant, self.out);
        self.out.push(b':');
    }
}

impl Compound<'_, '_> {
    fn element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Unsupported> {
        if !self.first {
            self.ser.out.push(b',');
        }
        self.first = false;
        value.serialize(&mut *self.ser)
    }

    fn end_array(self) -> Result<(), Unsupported> {
        self.ser.out.extend_from_slice(self.close);
        Ok(())
    }

    fn member<T: Serialize + ?Sized>(&mut self, key: Key, value: &T) -> Result<(), Unsupported> {
        let ser = &mut *self.ser;
        if ser.depth == 1 && ser.skip.is_some_and(|skip| skip == key.as_str()) {
            return Ok(());
        }
        if !self.first {
            ser.out.push(b',');
        }
        self.first = false;
        let start = ser.out.len();
        write_string(key.as_str(), ser.out);
        ser.out.push(b':');
        value.serialize(&mut *ser)?;
        let end = ser.out.len();
        ser.members.push(Member { key, start, end });
        Ok(())
    }

    /// Puts the members in key order, in place, and closes the object.
    fn end_object(self) -> Result<(), Unsupported> {
        let ser = self.ser;
        let members = &mut ser.members[self.base..];
        let sorted = members
            .windows(2)
            .all(|pair| key_order(pair[0].key.as_str(), pair[1].key.as_str()).is_lt());
        if !sorted {
            members.sort_by(|a, b| key_order(a.key.as_str(), b.key.as_str()));
            if members
                .windows(2)
                .any(|pair| pair[0].key.as_str() == pair[1].key.as_str())
            {
                // A `serde_json::Value` keeps the last; leave such a value to that path.
                return unsupported("an object with a repeated key");
            }
            ser.scratch.clear();
            ser.scratch.extend_from_slice(&ser.out[self.start..]);
            ser.out.truncate(self.start);
            for (i, member) in members.iter().enumerate() {
                if i > 0 {
                    ser.out.push(b',');
                }
                let (from, to) = (member.start - self.start, member.end - self.start);
                ser.out.extend_from_slice(&ser.scratch[from..to]);
            }
        }
        ser.members.truncate(self.base);
        ser.depth -= 1;
        ser.out.extend_from_slice(self.close);
        Ok(())
    }
}

/// Writes `text` as a JSON string the way serde_json does, which is RFC 8785's way: `"` and
/// `\` escaped, U+0008, U+0009, U+000A, U+000C and U+000D as `\b \t \n \f \r`, other control
/// characters as lower-case `\u00xx`, everything else as itself.
pub(crate) fn write_string(text: &str, out: &mut Vec<u8>) {
    out.push(b'"');
    write_string_contents(text, out);
    out.push(b'"');
}

fn write_string_contents(text: &str, out: &mut Vec<u8>) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let bytes = text.as_bytes();
    let mut from = 0;
    for (i, &byte) in bytes.iter().enumerate() {
        let escape: &[u8] = match byte {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            0x08 => b"\\b",
            0x09 => b"\\t",
            0x0A => b"\\n",
            0x0C => b"\\f",
            0x0D => b"\\r",
            0x00..=0x1F => b"",
            _ => continue,
        };
        out.extend_from_slice(&bytes[from..i]);
        if escape.is_empty() {
            out.extend_from_slice(b"\\u00");
            out.push(HEX[usize::from(byte >> 4)]);
            out.push(HEX[usize::from(byte & 0xF)]);
        } else {
            out.extend_from_slice(escape);
        }
        from = i + 1;
    }
    out.extend_from_slice(&bytes[from..]);
}

/// Escapes what a `Display` writes, piece by piece (escaping is per character).
struct Escaping<'a>(&'a mut Vec<u8>);

impl fmt::Write for Escaping<'_> {
    fn write_str(&mut self, piece: &str) -> fmt::Result {
        write_string_contents(piece, self.0);
        Ok(())
    }
}

fn write_integer(out: &mut Vec<u8>, value: impl fmt::Display) {
    // `Vec<u8>` has no `fmt::Write`; digits need no escaping.
    let _ = write!(Escaping(out), "{value}");
}

impl<'a, 'o> ser::Serializer for &'a mut Canonical<'o> {
    type Ok = ();
    type Error = Unsupported;
    type SerializeSeq = Compound<'a, 'o>;
    type SerializeTuple = Compound<'a, 'o>;
    type SerializeTupleStruct = Compound<'a, 'o>;
    type SerializeTupleVariant = Compound<'a, 'o>;
    type SerializeMap = Compound<'a, 'o>;
    type SerializeStruct = Compound<'a, 'o>;
    type SerializeStructVariant = Compound<'a, 'o>;

    fn serialize_bool(self, value: bool) -> Result<(), Unsupported> {
        self.out
            .extend_from_slice(if value { b"true" } else { b"false" });
        Ok(())
    }

    fn serialize_i8(self, value: i8) -> Result<(), Unsupported> {
        self.serialize_i64(i64::from(value))
    }

    fn serialize_i16(self, value: i16) -> Result<(), Unsupported> {
        self.serialize_i64(i64::from(value))
    }

    fn serialize_i32(self, value: i32) -> Result<(), Unsupported> {
        self.serialize_i64(i64::from(value))
    }

    fn serialize_i64(self, value: i64) -> Result<(), Unsupported> {
        write_integer(self.out, value);
        Ok(())
    }

    fn serialize_u8(self, value: u8) -> Result<(), Unsupported> {
        self.serialize_u64(u64::from(value))
    }

    fn serialize_u16(self, value: u16) -> Result<(), Unsupported> {
        self.serialize_u64(u64::from(value))
    }

    fn serialize_u32(self, value: u32) -> Result<(), Unsupported> {
        self.serialize_u64(u64::from(value))
    }

    fn serialize_u64(self, value: u64) -> Result<(), Unsupported> {
        write_integer(self.out, value);
        Ok(())
    }

    fn serialize_i128(self, _: i128) -> Result<(), Unsupported> {
        unsupported("a 128-bit integer")
    }

    fn serialize_u128(self, _: u128) -> Result<(), Unsupported> {
        unsupported("a 128-bit integer")
    }

    fn serialize_f32(self, _: f32) -> Result<(), Unsupported> {
        unsupported("a float")
    }

    fn serialize_f64(self, _: f64) -> Result<(), Unsupported> {
        unsupported("a float")
    }

    fn serialize_char(self, value: char) -> Result<(), Unsupported> {
        write_string(value.encode_utf8(&mut [0; 4]), self.out);
        Ok(())
    }

    fn serialize_str(self, value: &str) -> Result<(), Unsupported> {
        write_string(value, self.out);
        Ok(())
    }

    fn serialize_bytes(self, value: &[u8]) -> Result<(), Unsupported> {
        // As serde_json: an array of numbers.
        let mut array = self.array(b"]");
        for byte in value {
            array.element(byte)?;
        }
        array.end_array()
    }

    fn serialize_none(self) -> Result<(), Unsupported> {
        self.serialize_unit()
    }

    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), Unsupported> {
        value.serialize(self)
    }

    fn serialize_unit(self) -> Result<(), Unsupported> {
        self.out.extend_from_slice(b"null");
        Ok(())
    }

    fn serialize_unit_struct(self, _: &'static str) -> Result<(), Unsupported> {
        self.serialize_unit()
    }

    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<(), Unsupported> {
        self.serialize_str(variant)
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<(), Unsupported> {
        value.serialize(self)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<(), Unsupported> {
        // One member: already in order. It counts as an object for the member to skip.
        self.open_variant(variant);
        self.depth += 1;
        value.serialize(&mut *self)?;
        self.depth -= 1;
        self.out.push(b'}');
        Ok(())
    }

    fn serialize_seq(self, _: Option<usize>) -> Result<Compound<'a, 'o>, Unsupported> {
        Ok(self.array(b"]"))
    }

    fn serialize_tuple(self, _: usize) -> Result<Compound<'a, 'o>, Unsupported> {
        Ok(self.array(b"]"))
    }

    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Compound<'a, 'o>, Unsupported> {
        Ok(self.array(b"]"))
    }

    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<Compound<'a, 'o>, Unsupported> {
        self.open_variant(variant);
        self.depth += 1;
        let compound = self.array(b"]}");
        Ok(compound)
    }

    fn serialize_map(self, _: Option<usize>) -> Result<Compound<'a, 'o>, Unsupported> {
        Ok(self.object(b"}"))
    }

    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Compound<'a, 'o>, Unsupported> {
        Ok(self.object(b"}"))
    }

    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<Compound<'a, 'o>, Unsupported> {
        self.open_variant(variant);
        self.depth += 1;
        Ok(self.object(b"}}"))
    }

    fn collect_str<T: fmt::Display + ?Sized>(self, value: &T) -> Result<(), Unsupported> {
        self.out.push(b'"');
        write!(Escaping(self.out), "{value}")
            .map_err(|_| Unsupported("a Display that failed".into()))?;
        self.out.push(b'"');
        Ok(())
    }
}

impl ser::SerializeSeq for Compound<'_, '_> {
    type Ok = ();
    type Error = Unsupported;

    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Unsupported> {
        self.element(value)
    }

    fn end(self) -> Result<(), Unsupported> {
        self.end_array()
    }
}

impl ser::SerializeTuple for Compound<'_, '_> {
    type Ok = ();
    type Error = Unsupported;

    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Unsupported> {
        self.element(value)
    }

    fn end(self) -> Result<(), Unsupported> {
        self.end_array()
    }
}

impl ser::SerializeTupleStruct for Compound<'_, '_> {
    type Ok = ();
    type Error = Unsupported;

    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Unsupported> {
        self.element(value)
    }

    fn end(self) -> Result<(), Unsupported> {
        self.end_array()
    }
}

impl ser::SerializeTupleVariant for Compound<'_, '_> {
    type Ok = ();
    type Error = Unsupported;

    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Unsupported> {
        self.element(value)
    }

    fn end(self) -> Result<(), Unsupported> {
        // Leaves the one-member wrapper opened by `serialize_tuple_variant`.
        self.ser.depth -= 1;
        self.end_array()
    }
}

impl ser::SerializeMap for Compound<'_, '_> {
    type Ok = ();
    type Error = Unsupported;

    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Unsupported> {
        self.pending_key = Some(key.serialize(MapKey)?);
        Ok(())
    }

    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Unsupported> {
        match self.pending_key.take() {
            Some(key) => self.member(Key::Owned(key), value),
            None => unsupported("a map value without a key"),
        }
    }

    fn end(self) -> Result<(), Unsupported> {
        self.end_object()
    }
}

impl ser::SerializeStruct for Compound<'_, '_> {
    type Ok = ();
    type Error = Unsupported;

    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Unsupported> {
        self.member(Key::Static(key), value)
    }

    fn end(self) -> Result<(), Unsupported> {
        self.end_object()
    }
}

impl ser::SerializeStructVariant for Compound<'_, '_> {
    type Ok = ();
    type Error = Unsupported;

    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Unsupported> {
        self.member(Key::Static(key), value)
    }

    fn end(self) -> Result<(), Unsupported> {
        // Leaves the one-member wrapper opened by `serialize_struct_variant` too.
        self.ser.depth -= 1;
        self.end_object()
    }
}

/// A map key: a string, or an integer or unit variant written as one (as serde_json does).
struct MapKey;

impl ser::Serializer for MapKey {
    type Ok = String;
    type Error = Unsupported;
    type SerializeSeq = ser::Impossible<String, Unsupported>;
    type SerializeTuple = ser::Impossible<String, Unsupported>;
    type SerializeTupleStruct = ser::Impossible<String, Unsupported>;
    type SerializeTupleVariant = ser::Impossible<String, Unsupported>;
    type SerializeMap = ser::Impossible<String, Unsupported>;
    type SerializeStruct = ser::Impossible<String, Unsupported>;
    type SerializeStructVariant = ser::Impossible<String, Unsupported>;

    fn serialize_str(self, value: &str) -> Result<String, Unsupported> {
        Ok(value.to_owned())
    }

    fn serialize_char(self, value: char) -> Result<String, Unsupported> {
        Ok(value.to_string())
    }

    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<String, Unsupported> {
        Ok(variant.to_owned())
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<String, Unsupported> {
        value.serialize(self)
    }

    fn serialize_i8(self, value: i8) -> Result<String, Unsupported> {
        Ok(value.to_string())
    }

    fn serialize_i16(self, value: i16) -> Result<String, Unsupported> {
        Ok(value.to_string())
    }

    fn serialize_i32(self, value: i32) -> Result<String, Unsupported> {
        Ok(value.to_string())
    }

    fn serialize_i64(self, value: i64) -> Result<String, Unsupported> {
        Ok(value.to_string())
    }

    fn serialize_u8(self, value: u8) -> Result<String, Unsupported> {
        Ok(value.to_string())
    }

    fn serialize_u16(self, value: u16) -> Result<String, Unsupported> {
        Ok(value.to_string())
    }

    fn serialize_u32(self, value: u32) -> Result<String, Unsupported> {
        Ok(value.to_string())
    }

    fn serialize_u64(self, value: u64) -> Result<String, Unsupported> {
        Ok(value.to_string())
    }

    fn collect_str<T: fmt::Display + ?Sized>(self, value: &T) -> Result<String, Unsupported> {
        Ok(value.to_string())
    }

    fn serialize_bool(self, _: bool) -> Result<String, Unsupported> {
        unsupported("a boolean map key")
    }

    fn serialize_i128(self, _: i128) -> Result<String, Unsupported> {
        unsupported("a 128-bit map key")
    }

    fn serialize_u128(self, _: u128) -> Result<String, Unsupported> {
        unsupported("a 128-bit map key")
    }

    fn serialize_f32(self, _: f32) -> Result<String, Unsupported> {
        unsupported("a float map key")
    }

    fn serialize_f64(self, _: f64) -> Result<String, Unsupported> {
        unsupported("a float map key")
    }

    fn serialize_bytes(self, _: &[u8]) -> Result<String, Unsupported> {
        unsupported("a bytes map key")
    }

    fn serialize_none(self) -> Result<String, Unsupported> {
        unsupported("a none map key")
    }

    fn serialize_some<T: Serialize + ?Sized>(self, _: &T) -> Result<String, Unsupported> {
        unsupported("an optional map key")
    }

    fn serialize_unit(self) -> Result<String, Unsupported> {
        unsupported("a unit map key")
    }

    fn serialize_unit_struct(self, _: &'static str) -> Result<String, Unsupported> {
        unsupported("a unit map key")
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<String, Unsupported> {
        unsupported("a variant map key")
    }

    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, Unsupported> {
        unsupported("a sequence map key")
    }

    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, Unsupported> {
        unsupported("a tuple map key")
    }

    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct, Unsupported> {
        unsupported("a tuple map key")
    }

    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, Unsupported> {
        unsupported("a tuple map key")
    }

    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, Unsupported> {
        unsupported("a map map key")
    }

    fn serialize_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStruct, Unsupported> {
        unsupported("a struct map key")
    }

    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, Unsupported> {
        unsupported("a struct map key")
    }
}
