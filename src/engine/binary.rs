//! A compact binary form of serde values, for the engine's own caches (the stored snapshots of
//! `BilateralState`): no names, no quoting, no number parsing, and strings read in place.
//!
//! It follows the serde data model, so a type's `Serialize` and `Deserialize` serve as they are,
//! with the JSON's own forms of dates and ids (`is_human_readable` is true):
//!
//! | serde | bytes |
//! |---|---|
//! | `bool` | one byte, 0 or 1 |
//! | unsigned integers, `char` | LEB128 varint |
//! | signed integers | zigzag, then LEB128 varint |
//! | `f32`, `f64` | little-endian |
//! | string, bytes | varint length, then the bytes |
//! | `None` / `Some(v)` | 0 / 1 then `v` |
//! | unit, unit struct | nothing |
//! | newtype struct | its value |
//! | sequence, map | varint count, then the elements (key then value) |
//! | tuple, tuple struct | the elements |
//! | struct | varint count of the fields written, then each as its index in the declaration and its value |
//! | enum variant | varint index of the variant, then its content as above |
//!
//! A struct names its fields by index so that a field left out by `skip_serializing_if` is
//! simply absent (serde calls `skip_field` for it, which counts it) and takes its default when
//! read back. The form is not self-describing: `deserialize_any` (untagged or internally tagged
//! enums, `flatten`, unknown fields to ignore) is refused with an error, never guessed. Bytes
//! that do not decode are an error, never a panic.

use std::fmt;

use serde::de::{self, DeserializeSeed, IntoDeserializer, Visitor};
use serde::ser::{self, Serialize};

/// Why a value could not be written or read in the binary form.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct BinaryError(String);

impl ser::Error for BinaryError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        BinaryError(msg.to_string())
    }
}

impl de::Error for BinaryError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        BinaryError(msg.to_string())
    }
}

type Result<T, E = BinaryError> = std::result::Result<T, E>;

/// The binary form of `value`.
pub(crate) fn to_vec<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(256);
    value.serialize(&mut Writer { out: &mut out })?;
    Ok(out)
}

/// The value whose binary form is the whole of `bytes`.
pub(crate) fn from_slice<'de, T: de::Deserialize<'de>>(bytes: &'de [u8]) -> Result<T> {
    let mut reader = Reader { input: bytes };
    let value = T::deserialize(&mut reader)?;
    if !reader.input.is_empty() {
        return Err(BinaryError(format!(
            "{} bytes left after the value",
            reader.input.len()
        )));
    }
    Ok(value)
}

fn put_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

fn zigzag(value: i64) -> u64 {
    ((value << 1) ^ (value >> 63)) as u64
}

fn unzigzag(value: u64) -> i64 {
    ((value >> 1) as i64) ^ -((value & 1) as i64)
}

struct Writer<'a> {
    out: &'a mut Vec<u8>,
}

impl Writer<'_> {
    fn varint(&mut self, value: u64) {
        put_varint(self.out, value);
    }

    fn bytes(&mut self, bytes: &[u8]) {
        self.varint(bytes.len() as u64);
        self.out.extend_from_slice(bytes);
    }
}

/// A sequence or map whose length serde did not give: written to a buffer of its own, then
/// after its count.
struct Counted<'a, 'b> {
    writer: &'a mut Writer<'b>,
    buffer: Option<Vec<u8>>,
    count: u64,
}

impl Counted<'_, '_> {
    fn element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<()> {
        self.count += 1;
        match &mut self.buffer {
            Some(buffer) => value.serialize(&mut Writer { out: buffer }),
            None => value.serialize(&mut *self.writer),
        }
    }

    fn finish(self) -> Result<()> {
        if let Some(buffer) = self.buffer {
            self.writer.varint(self.count);
            self.writer.out.extend_from_slice(&buffer);
        }
        Ok(())
    }
}

/// A struct's fields: counted as serde names them, written or skipped, and the count of those
/// written patched in at the start.
struct Fields<'a, 'b> {
    writer: &'a mut Writer<'b>,
    index: u64,
    count_at: usize,
    written: u64,
}

impl Fields<'_, '_> {
    fn field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<()> {
        self.writer.varint(self.index);
        self.index += 1;
        self.written += 1;
        value.serialize(&mut *self.writer)
    }

    fn finish(self) -> Result<()> {
        // The count was reserved as one byte; a struct of 128 fields or more would need more.
        match u8::try_from(self.written) {
            Ok(count) if count < 0x80 => {
                self.writer.out[self.count_at] = count;
                Ok(())
            }
            _ => Err(BinaryError(format!(
                "a struct of {} fields: at most 127",
                self.written
            ))),
        }
    }
}

impl<'a, 'b> ser::Serializer for &'a mut Writer<'b> {
    type Ok = ();
    type Error = BinaryError;
    type SerializeSeq = Counted<'a, 'b>;
    type SerializeTuple = Self;
    type SerializeTupleStruct = Self;
    type SerializeTupleVariant = Self;
    type SerializeMap = Counted<'a, 'b>;
    type SerializeStruct = Fields<'a, 'b>;
    type SerializeStructVariant = Fields<'a, 'b>;

    fn serialize_bool(self, v: bool) -> Result<()> {
        self.out.push(u8::from(v));
        Ok(())
    }
    fn serialize_i8(self, v: i8) -> Result<()> {
        self.serialize_i64(i64::from(v))
    }
    fn serialize_i16(self, v: i16) -> Result<()> {
        self.serialize_i64(i64::from(v))
    }
    fn serialize_i32(self, v: i32) -> Result<()> {
        self.serialize_i64(i64::from(v))
    }
    fn serialize_i64(self, v: i64) -> Result<()> {
        self.varint(zigzag(v));
        Ok(())
    }
    fn serialize_u8(self, v: u8) -> Result<()> {
        self.varint(u64::from(v));
        Ok(())
    }
    fn serialize_u16(self, v: u16) -> Result<()> {
        self.varint(u64::from(v));
        Ok(())
    }
    fn serialize_u32(self, v: u32) -> Result<()> {
        self.varint(u64::from(v));
        Ok(())
    }
    fn serialize_u64(self, v: u64) -> Result<()> {
        self.varint(v);
        Ok(())
    }
    fn serialize_f32(self, v: f32) -> Result<()> {
        self.out.extend_from_slice(&v.to_le_bytes());
        Ok(())
    }
    fn serialize_f64(self, v: f64) -> Result<()> {
        self.out.extend_from_slice(&v.to_le_bytes());
        Ok(())
    }
    fn serialize_char(self, v: char) -> Result<()> {
        self.varint(u64::from(u32::from(v)));
        Ok(())
    }
    fn serialize_str(self, v: &str) -> Result<()> {
        self.bytes(v.as_bytes());
        Ok(())
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<()> {
        self.bytes(v);
        Ok(())
    }
    fn serialize_none(self) -> Result<()> {
        self.out.push(0);
        Ok(())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<()> {
        self.out.push(1);
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<()> {
        Ok(())
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<()> {
        Ok(())
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        variant_index: u32,
        _variant: &'static str,
    ) -> Result<()> {
        self.varint(u64::from(variant_index));
        Ok(())
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<()> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        variant_index: u32,
        _variant: &'static str,
        value: &T,
    ) -> Result<()> {
        self.varint(u64::from(variant_index));
        value.serialize(self)
    }
    fn serialize_seq(self, len: Option<usize>) -> Result<Counted<'a, 'b>> {
        let buffer = match len {
            Some(len) => {
                self.varint(len as u64);
                None
            }
            None => Some(Vec::new()),
        };
        Ok(Counted {
            writer: self,
            buffer,
            count: 0,
        })
    }
    fn serialize_tuple(self, _len: usize) -> Result<Self> {
        Ok(self)
    }
    fn serialize_tuple_struct(self, _name: &'static str, _len: usize) -> Result<Self> {
        Ok(self)
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        variant_index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self> {
        self.varint(u64::from(variant_index));
        Ok(self)
    }
    fn serialize_map(self, len: Option<usize>) -> Result<Counted<'a, 'b>> {
        self.serialize_seq(len)
    }
    fn serialize_struct(self, _name: &'static str, _len: usize) -> Result<Fields<'a, 'b>> {
        let count_at = self.out.len();
        self.out.push(0);
        Ok(Fields {
            writer: self,
            index: 0,
            count_at,
            written: 0,
        })
    }
    fn serialize_struct_variant(
        self,
        name: &'static str,
        variant_index: u32,
        _variant: &'static str,
        len: usize,
    ) -> Result<Fields<'a, 'b>> {
        self.varint(u64::from(variant_index));
        self.serialize_struct(name, len)
    }
    fn is_human_readable(&self) -> bool {
        true
    }
}

impl ser::SerializeSeq for Counted<'_, '_> {
    type Ok = ();
    type Error = BinaryError;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<()> {
        self.element(value)
    }
    fn end(self) -> Result<()> {
        self.finish()
    }
}

impl ser::SerializeMap for Counted<'_, '_> {
    type Ok = ();
    type Error = BinaryError;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<()> {
        self.element(key)
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<()> {
        // The entry was counted with its key.
        self.count -= 1;
        self.element(value)
    }
    fn end(self) -> Result<()> {
        self.finish()
    }
}

impl ser::SerializeTuple for &mut Writer<'_> {
    type Ok = ();
    type Error = BinaryError;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<()> {
        value.serialize(&mut **self)
    }
    fn end(self) -> Result<()> {
        Ok(())
    }
}

impl ser::SerializeTupleStruct for &mut Writer<'_> {
    type Ok = ();
    type Error = BinaryError;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<()> {
        value.serialize(&mut **self)
    }
    fn end(self) -> Result<()> {
        Ok(())
    }
}

impl ser::SerializeTupleVariant for &mut Writer<'_> {
    type Ok = ();
    type Error = BinaryError;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<()> {
        value.serialize(&mut **self)
    }
    fn end(self) -> Result<()> {
        Ok(())
    }
}

impl ser::SerializeStruct for Fields<'_, '_> {
    type Ok = ();
    type Error = BinaryError;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        _key: &'static str,
        value: &T,
    ) -> Result<()> {
        self.field(value)
    }
    fn skip_field(&mut self, _key: &'static str) -> Result<()> {
        self.index += 1;
        Ok(())
    }
    fn end(self) -> Result<()> {
        self.finish()
    }
}

impl ser::SerializeStructVariant for Fields<'_, '_> {
    type Ok = ();
    type Error = BinaryError;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        _key: &'static str,
        value: &T,
    ) -> Result<()> {
        self.field(value)
    }
    fn skip_field(&mut self, _key: &'static str) -> Result<()> {
        self.index += 1;
        Ok(())
    }
    fn end(self) -> Result<()> {
        self.finish()
    }
}

struct Reader<'de> {
    input: &'de [u8],
}

impl<'de> Reader<'de> {
    fn byte(&mut self) -> Result<u8> {
        match self.input.split_first() {
            Some((&byte, rest)) => {
                self.input = rest;
                Ok(byte)
            }
            None => Err(BinaryError("the value ends early".into())),
        }
    }

    fn varint(&mut self) -> Result<u64> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = self.byte()?;
            value |= u64::from(byte & 0x7f) << shift;
            if byte < 0x80 {
                return Ok(value);
            }
        }
        Err(BinaryError("a varint longer than 64 bits".into()))
    }

    fn count(&mut self) -> Result<usize> {
        let count = self.varint()?;
        // Every element takes at least... nothing (a unit), so the count is bounded only by
        // what a `usize` holds; serde caps what it reserves ahead itself.
        usize::try_from(count).map_err(|_| BinaryError(format!("a count of {count}")))
    }

    fn take(&mut self, len: usize) -> Result<&'de [u8]> {
        if len > self.input.len() {
            return Err(BinaryError(format!(
                "{len} bytes wanted, {} left",
                self.input.len()
            )));
        }
        let (taken, rest) = self.input.split_at(len);
        self.input = rest;
        Ok(taken)
    }

    fn bytes(&mut self) -> Result<&'de [u8]> {
        let len = self.count()?;
        self.take(len)
    }

    fn str(&mut self) -> Result<&'de str> {
        std::str::from_utf8(self.bytes()?).map_err(|err| BinaryError(err.to_string()))
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        let bytes = self.take(N)?;
        let mut array = [0u8; N];
        array.copy_from_slice(bytes);
        Ok(array)
    }
}

impl<'de> de::Deserializer<'de> for &mut Reader<'de> {
    type Error = BinaryError;

    fn deserialize_any<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value> {
        Err(BinaryError(
            "the binary form is not self-describing: a value of unknown type".into(),
        ))
    }
    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        match self.byte()? {
            0 => visitor.visit_bool(false),
            1 => visitor.visit_bool(true),
            other => Err(BinaryError(format!("{other} is not a bool"))),
        }
    }
    fn deserialize_i8<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.deserialize_i64(visitor)
    }
    fn deserialize_i16<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.deserialize_i64(visitor)
    }
    fn deserialize_i32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.deserialize_i64(visitor)
    }
    fn deserialize_i64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        visitor.visit_i64(unzigzag(self.varint()?))
    }
    fn deserialize_u8<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.deserialize_u64(visitor)
    }
    fn deserialize_u16<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.deserialize_u64(visitor)
    }
    fn deserialize_u32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.deserialize_u64(visitor)
    }
    fn deserialize_u64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        visitor.visit_u64(self.varint()?)
    }
    fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        visitor.visit_f32(f32::from_le_bytes(self.array()?))
    }
    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        visitor.visit_f64(f64::from_le_bytes(self.array()?))
    }
    fn deserialize_char<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        let code = self.varint()?;
        match u32::try_from(code).ok().and_then(char::from_u32) {
            Some(c) => visitor.visit_char(c),
            None => Err(BinaryError(format!("{code} is not a char"))),
        }
    }
    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        visitor.visit_borrowed_str(self.str()?)
    }
    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.deserialize_str(visitor)
    }
    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        visitor.visit_borrowed_bytes(self.bytes()?)
    }
    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.deserialize_bytes(visitor)
    }
    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        match self.byte()? {
            0 => visitor.visit_none(),
            1 => visitor.visit_some(self),
            other => Err(BinaryError(format!("{other} is not an option's tag"))),
        }
    }
    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        visitor.visit_unit()
    }
    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value> {
        visitor.visit_unit()
    }
    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value> {
        visitor.visit_newtype_struct(self)
    }
    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        let remaining = self.count()?;
        visitor.visit_seq(Elements {
            reader: self,
            remaining,
        })
    }
    fn deserialize_tuple<V: Visitor<'de>>(self, len: usize, visitor: V) -> Result<V::Value> {
        visitor.visit_seq(Elements {
            reader: self,
            remaining: len,
        })
    }
    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        len: usize,
        visitor: V,
    ) -> Result<V::Value> {
        self.deserialize_tuple(len, visitor)
    }
    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        let remaining = self.count()?;
        visitor.visit_map(Elements {
            reader: self,
            remaining,
        })
    }
    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value> {
        let remaining = self.count()?;
        visitor.visit_map(StructFields {
            reader: self,
            remaining,
        })
    }
    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value> {
        visitor.visit_enum(self)
    }
    fn deserialize_identifier<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value> {
        Err(BinaryError(
            "an identifier outside a struct or an enum".into(),
        ))
    }
    fn deserialize_ignored_any<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value> {
        Err(BinaryError(
            "a value to ignore: the binary form cannot skip what it does not know".into(),
        ))
    }
    fn is_human_readable(&self) -> bool {
        true
    }
}

/// The elements of a sequence or the entries of a map, `remaining` of them.
struct Elements<'a, 'de> {
    reader: &'a mut Reader<'de>,
    remaining: usize,
}

impl<'de> de::SeqAccess<'de> for Elements<'_, 'de> {
    type Error = BinaryError;
    fn next_element_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<Option<T::Value>> {
        if self.remaining == 0 {
            return Ok(None);
        }
        self.remaining -= 1;
        seed.deserialize(&mut *self.reader).map(Some)
    }
    fn size_hint(&self) -> Option<usize> {
        Some(self.remaining)
    }
}

impl<'de> de::MapAccess<'de> for Elements<'_, 'de> {
    type Error = BinaryError;
    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>> {
        if self.remaining == 0 {
            return Ok(None);
        }
        self.remaining -= 1;
        seed.deserialize(&mut *self.reader).map(Some)
    }
    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value> {
        seed.deserialize(&mut *self.reader)
    }
    fn size_hint(&self) -> Option<usize> {
        Some(self.remaining)
    }
}

/// A struct's fields, `remaining` of them, each named by its index.
struct StructFields<'a, 'de> {
    reader: &'a mut Reader<'de>,
    remaining: usize,
}

impl<'de> de::MapAccess<'de> for StructFields<'_, 'de> {
    type Error = BinaryError;
    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>> {
        if self.remaining == 0 {
            return Ok(None);
        }
        self.remaining -= 1;
        let index = self.reader.varint()?;
        seed.deserialize(index.into_deserializer()).map(Some)
    }
    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value> {
        seed.deserialize(&mut *self.reader)
    }
    fn size_hint(&self) -> Option<usize> {
        Some(self.remaining)
    }
}

impl<'de> de::EnumAccess<'de> for &mut Reader<'de> {
    type Error = BinaryError;
    type Variant = Self;
    fn variant_seed<V: DeserializeSeed<'de>>(self, seed: V) -> Result<(V::Value, Self)> {
        let index = self.varint()?;
        let index = u32::try_from(index)
            .map_err(|_| BinaryError(format!("{index} is not a variant's index")))?;
        let value = seed.deserialize(index.into_deserializer())?;
        Ok((value, self))
    }
}

impl<'de> de::VariantAccess<'de> for &mut Reader<'de> {
    type Error = BinaryError;
    fn unit_variant(self) -> Result<()> {
        Ok(())
    }
    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value> {
        seed.deserialize(self)
    }
    fn tuple_variant<V: Visitor<'de>>(self, len: usize, visitor: V) -> Result<V::Value> {
        de::Deserializer::deserialize_tuple(self, len, visitor)
    }
    fn struct_variant<V: Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value> {
        de::Deserializer::deserialize_struct(self, "", fields, visitor)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde::{Deserialize, Serialize};

    use super::*;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Sample {
        name: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        note: Option<String>,
        kept: Option<i32>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        list: Vec<u64>,
        map: BTreeMap<String, Shape>,
        pair: (bool, char),
        ratio: f64,
    }

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    #[serde(rename_all = "snake_case")]
    enum Shape {
        Dot,
        Line(u32),
        Box { w: i64, h: i64 },
        Pair(i8, u16),
    }

    fn sample(note: Option<&str>, list: Vec<u64>) -> Sample {
        Sample {
            name: "négociation".into(),
            note: note.map(str::to_owned),
            kept: Some(-7),
            list,
            map: [
                ("a".to_owned(), Shape::Dot),
                ("b".to_owned(), Shape::Line(300)),
                ("c".to_owned(), Shape::Box { w: -1, h: 1 << 40 }),
                ("d".to_owned(), Shape::Pair(-128, 65535)),
            ]
            .into(),
            pair: (true, 'ж'),
            ratio: 0.25,
        }
    }

    #[test]
    fn values_come_back_as_they_went_with_skipped_fields_or_without() {
        for value in [
            sample(None, vec![]),
            sample(Some("x"), vec![0, 127, 128, u64::MAX]),
        ] {
            let bytes = to_vec(&value).unwrap();
            assert_eq!(from_slice::<Sample>(&bytes).unwrap(), value);
        }
    }

    #[test]
    fn a_skipped_field_takes_no_room() {
        let without = to_vec(&sample(None, vec![])).unwrap();
        let with = to_vec(&sample(Some("x"), vec![])).unwrap();
        // The field's index, the option's tag, the string's length and its one byte.
        assert_eq!(with.len(), without.len() + 4);
    }

    #[test]
    fn truncated_or_trailing_bytes_are_errors_not_panics() {
        let bytes = to_vec(&sample(Some("note"), vec![1, 2, 3])).unwrap();
        for end in 0..bytes.len() {
            assert!(from_slice::<Sample>(&bytes[..end]).is_err(), "{end}");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(from_slice::<Sample>(&longer).is_err());
    }

    #[test]
    fn a_field_index_out_of_range_is_refused() {
        let mut bytes = to_vec(&sample(None, vec![])).unwrap();
        // The first field written is `name`, index 0, right after the count.
        bytes[1] = 60;
        assert!(from_slice::<Sample>(&bytes).is_err());
    }

    #[test]
    fn a_value_of_unknown_type_is_refused() {
        let bytes = to_vec(&1u8).unwrap();
        assert!(from_slice::<serde_json::Value>(&bytes).is_err());
    }
}
