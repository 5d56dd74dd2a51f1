"""A skyprobe.v1.Flow message as the probe's own JSON record (a dict).

The probe writes its records (``skyprobe --json``) as the protobuf JSON
mapping of skyprobe.v1.Flow with the proto's field names (Skydive's), with
three differences from what ``google.protobuf.json_format`` gives, restated
here from src/export/json_lines.h:

- int64 values are JSON numbers, not strings;
- in the record and in every sub-message it holds, a plain int64 field is
  present even when 0 (``"ID": 0``, ``"BAPackets": 0``), except
  ``FlowMetric.RTT``, which is left out when 0; int64 fields declared
  ``optional`` (TCPMetric's stream and health counters) are present exactly
  when the probe set them;
- an enum inside a sub-message is present even at its first value
  (``"Protocol": "ETHERNET"``, ``"Type": "UNKNOWN"``);
- ``Event``, ``ExpireReason`` and ``ParentUUID`` are always present.

Everything else (strings and uint32 left out when empty or 0, enums by name,
sub-messages only when set) is the protobuf mapping. tests/integration/
python_client_test.py checks these dicts against the probe's --json records
of the same flows.
"""

from google.protobuf import json_format
from google.protobuf.descriptor import FieldDescriptor

_INT64_TYPES = (FieldDescriptor.TYPE_INT64, FieldDescriptor.TYPE_SINT64,
                FieldDescriptor.TYPE_SFIXED64, FieldDescriptor.TYPE_UINT64,
                FieldDescriptor.TYPE_FIXED64)
# (message full name, field name) of int64 fields left out when 0.
_OMITTED_WHEN_ZERO = {('skyprobe.v1.FlowMetric', 'RTT')}
_ALWAYS = {'Event': 'UPDATE', 'ExpireReason': 'NONE', 'ParentUUID': ''}


def _has_presence(field):
    if hasattr(field, 'has_presence'):
        return field.has_presence
    return field.containing_oneof is not None  # proto3 optional: a synthetic oneof


def _fix(message, value, top):
    """Applies the probe's rules to `value`, the protobuf dict of `message`
    (`top`: the record itself, not one of its sub-messages)."""
    descriptor = message.DESCRIPTOR
    for field in descriptor.fields:
        name = field.name
        repeated = field.label == FieldDescriptor.LABEL_REPEATED
        if field.type == FieldDescriptor.TYPE_MESSAGE:
            if repeated:
                if name in value and not field.message_type.GetOptions().map_entry:
                    for sub, item in zip(getattr(message, name), value[name]):
                        _fix(sub, item, False)
            elif name in value:
                _fix(getattr(message, name), value[name], False)
            continue
        if field.type == FieldDescriptor.TYPE_ENUM:
            if not top and not repeated and not _has_presence(field) and name not in value:
                value[name] = field.enum_type.values_by_number[0].name
            continue
        if field.type not in _INT64_TYPES:
            continue
        if repeated:
            if name in value:
                value[name] = [int(v) for v in value[name]]
            continue
        if name in value:
            value[name] = int(value[name])
        elif not _has_presence(field) and (descriptor.full_name, name) not in _OMITTED_WHEN_ZERO:
            value[name] = 0
    return value


def flow_record(flow):
    """The dict of a skyprobe.v1.Flow, as the probe's --json line of it."""
    value = json_format.MessageToDict(flow, preserving_proto_field_name=True)
    _fix(flow, value, True)
    for name, default in _ALWAYS.items():
        value.setdefault(name, default)
    return value
