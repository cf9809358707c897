#!/usr/bin/env python3
"""Describe a makedumpfile -F (flattened) dump as the pieces it writes, so the
fixture can ship it in a few KB: every piece's bytes are the bytes of the
ordinary kdump file at the same offsets (checked here), so a test rebuilds the
flattened file from vmcore.kdump-zlib + this list and checks the SHA-256 of the
result against the real file's.

Format (makedumpfile.h): a 4096-byte header {char signature[16]="makedumpfile",
int64 type=1, int64 version=1} padded with zeros, then pieces
{int64 offset, int64 buf_size, bytes} and an end marker of two -1, all
integers big-endian.

usage: flat-pieces.py vmcore.flat vmcore.kdump-zlib > vmcore.flat.pieces.json
"""
import hashlib, json, struct, sys

flat_path, kdump_path = sys.argv[1], sys.argv[2]
flat = open(flat_path, 'rb').read()
kdump = open(kdump_path, 'rb').read()
header = flat[:4096]
assert header[:12] == b'makedumpfile' and struct.unpack('>qq', header[16:32]) == (1, 1)
assert header[32:] == bytes(4096 - 32), 'header padding is not zero'
pieces, pos = [], 4096
while True:
    offset, size = struct.unpack('>qq', flat[pos:pos + 16])
    pos += 16
    if offset == -1:
        break
    data = flat[pos:pos + size]
    assert data == kdump[offset:offset + size], f'piece at {offset} differs from the kdump file'
    pieces.append([offset, size])
    pos += size
assert pos == len(flat), 'bytes after the end marker'
json.dump({
    'comment': 'makedumpfile -F -c -d 31 output, as (offset, size) pieces of vmcore.kdump-zlib in stream order; see tools/recipes/real-dump/flat-pieces.py',
    'source': 'vmcore.kdump-zlib',
    'size': len(flat),
    'sha256': hashlib.sha256(flat).hexdigest(),
    'pieces': pieces,
}, sys.stdout)
print()
