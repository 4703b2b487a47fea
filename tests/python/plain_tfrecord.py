"""TFRecord in plain Python, written from the format's documentation
(https://www.tensorflow.org/tutorials/load_data/tfrecord#tfrecords_format_details), with
CRC32C from crcmod. Independent of Granary's C++ code: the tests check each side against it.

    uint64 length; uint32 masked_crc32_of_length; byte data[length]; uint32 masked_crc32_of_data
    masked_crc = ((crc >> 15) | (crc << 17)) + 0xa282ead8   (32-bit)
"""

import struct

import crcmod.predefined

_crc32c = crcmod.predefined.mkCrcFun("crc-32c")


def masked_crc(data):
    crc = _crc32c(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def frame(record):
    length = struct.pack("<Q", len(record))
    return (length + struct.pack("<I", masked_crc(length)) + record +
            struct.pack("<I", masked_crc(record)))


def write_records(f, records):
    for r in records:
        f.write(frame(r))


class CorruptRecord(Exception):
    pass


def read_records(f, verify=True):
    """Yields the records of a binary file object; raises CorruptRecord(offset)."""
    offset = 0
    while True:
        header = f.read(12)
        if not header:
            return
        if len(header) < 12:
            raise CorruptRecord("truncated header at %d" % offset)
        length_bytes = header[:8]
        (length,) = struct.unpack("<Q", length_bytes)
        if verify and struct.unpack("<I", header[8:])[0] != masked_crc(length_bytes):
            raise CorruptRecord("length crc at %d" % offset)
        data = f.read(length)
        footer = f.read(4)
        if len(data) < length or len(footer) < 4:
            raise CorruptRecord("truncated record at %d" % offset)
        if verify and struct.unpack("<I", footer)[0] != masked_crc(data):
            raise CorruptRecord("data crc at %d" % offset)
        yield data
        offset += 16 + length
