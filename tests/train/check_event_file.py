"""Decodes a TensorBoard event file with Debian's python3-protobuf, independently of Sori's reader.

The messages are built at run time from the field numbers of TensorBoard's
tensorboard/compat/proto/{event,summary,tensor,tensor_shape}.proto (only the fields Sori writes),
so no generated code or TensorBoard install is needed. For every record it checks both masked
CRC-32Cs with a bitwise CRC (not Sori's table), parses the Event, checks that protobuf serializes
the parsed message back to exactly our bytes (our encoding is canonical), and prints one line per
event for tests/train/test_event_file.cpp to compare. Exit status 1 on any mismatch.

usage: check_event_file.py EVENTS_FILE
"""
import struct
import sys

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

F = descriptor_pb2.FieldDescriptorProto


def crc32c(data):
    c = 0xFFFFFFFF
    for byte in data:
        c ^= byte
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
    return c ^ 0xFFFFFFFF


def masked(data):
    c = crc32c(data)
    return (((c >> 15) | (c << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def message(file, name, fields, oneof=None):
    m = file.message_type.add(name=name)
    if oneof:
        m.oneof_decl.add(name=oneof[0])
    for number, fname, ftype, type_name, label in fields:
        f = m.field.add(name=fname, number=number, type=ftype, label=label or F.LABEL_OPTIONAL)
        if type_name:
            f.type_name = ".sori_check." + type_name
        if oneof and fname in oneof[1]:
            f.oneof_index = 0
    return m


def build_classes():
    file = descriptor_pb2.FileDescriptorProto(name="sori_check.proto", package="sori_check", syntax="proto3")
    rep = F.LABEL_REPEATED
    message(file, "PluginData", [(1, "plugin_name", F.TYPE_STRING, None, None), (2, "content", F.TYPE_BYTES, None, None)])
    message(file, "SummaryMetadata", [(1, "plugin_data", F.TYPE_MESSAGE, "PluginData", None)])
    message(file, "Dim", [(1, "size", F.TYPE_INT64, None, None), (2, "name", F.TYPE_STRING, None, None)])
    message(file, "TensorShapeProto", [(2, "dim", F.TYPE_MESSAGE, "Dim", rep), (3, "unknown_rank", F.TYPE_BOOL, None, None)])
    message(file, "TensorProto", [
        (1, "dtype", F.TYPE_INT32, None, None),
        (2, "tensor_shape", F.TYPE_MESSAGE, "TensorShapeProto", None),
        (8, "string_val", F.TYPE_BYTES, None, rep),
    ])
    message(file, "Value", [
        (1, "tag", F.TYPE_STRING, None, None),
        (2, "simple_value", F.TYPE_FLOAT, None, None),
        (8, "tensor", F.TYPE_MESSAGE, "TensorProto", None),
        (9, "metadata", F.TYPE_MESSAGE, "SummaryMetadata", None),
    ], oneof=("value", {"simple_value", "tensor"}))
    message(file, "Summary", [(1, "value", F.TYPE_MESSAGE, "Value", rep)])
    message(file, "SessionLog", [
        (1, "status", F.TYPE_INT32, None, None),
        (2, "checkpoint_path", F.TYPE_STRING, None, None),
        (3, "msg", F.TYPE_STRING, None, None),
    ])
    message(file, "Event", [
        (1, "wall_time", F.TYPE_DOUBLE, None, None),
        (2, "step", F.TYPE_INT64, None, None),
        (3, "file_version", F.TYPE_STRING, None, None),
        (5, "summary", F.TYPE_MESSAGE, "Summary", None),
        (7, "session_log", F.TYPE_MESSAGE, "SessionLog", None),
    ], oneof=("what", {"file_version", "summary", "session_log"}))
    pool = descriptor_pool.DescriptorPool()
    pool.Add(file)
    event = pool.FindMessageTypeByName("sori_check.Event")
    if hasattr(message_factory, "GetMessageClass"):
        return message_factory.GetMessageClass(event)
    return message_factory.MessageFactory(pool).GetPrototype(event)


def main(path):
    Event = build_classes()
    data = open(path, "rb").read()
    at, ok = 0, True
    while at < len(data):
        (length,) = struct.unpack_from("<Q", data, at)
        (length_crc,) = struct.unpack_from("<I", data, at + 8)
        body = data[at + 12 : at + 12 + length]
        (body_crc,) = struct.unpack_from("<I", data, at + 12 + length)
        if length_crc != masked(data[at : at + 8]) or body_crc != masked(body):
            print(f"offset {at}: CRC mismatch")
            ok = False
        event = Event()
        event.ParseFromString(body)
        if event.SerializeToString() != body:
            print(f"offset {at}: protobuf re-serializes the event differently")
            ok = False
        what = event.WhichOneof("what")
        line = f"step={event.step} wall_time_positive={event.wall_time > 0} what={what}"
        if what == "file_version":
            line += f" file_version={event.file_version}"
        elif what == "session_log":
            line += f" status={event.session_log.status}"
        elif what == "summary":
            for v in event.summary.value:
                kind = v.WhichOneof("value")
                line += f" | tag={v.tag} kind={kind}"
                if kind == "simple_value":
                    line += f" simple_value={v.simple_value!r}"
                elif kind == "tensor":
                    t = v.tensor
                    line += (f" dtype={t.dtype} has_shape={t.HasField('tensor_shape')} dims={len(t.tensor_shape.dim)}"
                             f" string_val={[s.decode() for s in t.string_val]}")
                if v.HasField("metadata"):
                    line += f" plugin={v.metadata.plugin_data.plugin_name}"
        print(line)
        at += 16 + length
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
