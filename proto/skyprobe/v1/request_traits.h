// request_traits.h: how gRPC decodes the requests that carry a filter
// (FlowQuery, FlowFilter, AggregateRequest), included by the generated probe_service.grpc.pb.h
// (proto/skyprobe/v1/meson.build: additional_header_includes) so that the
// server and every client see the same SerializationTraits.
//
// Owner: gRPC's threads (the server decodes each request with it).
//
//   grpc::ByteBuffer request = ...;  // as received
//   grpc::Status s = grpc::SerializationTraits<skyprobe::v1::FlowQuery>::Deserialize(&request, &q);
//
// Why: protobuf refuses a message nested more than 100 levels deep, and
// gRPC 1.51's callback server answers any request that does not decode with
// UNIMPLEMENTED and an empty message (the decoder's status is dropped). A
// Filter is two message levels per filter level (Filter, BoolFilter), so a
// structured filter deeper than about 49 levels never reached the probe's
// own check (64 levels, src/query/filter_limits.h), and its sender got
// no clue why. Here the decoder allows kRequestMessageDepth levels (a
// 65-level filter still decodes, for the probe's check to name the limit).
// A request that does not decode is handed over empty, carrying the reason
// in an unknown field the proto reserves (kDecodeErrorField), and the
// service answers INVALID_ARGUMENT with it (RequestDecodeError). Encoding is
// gRPC's own.
#pragma once

#include <grpcpp/impl/codegen/proto_utils.h>
#include <grpcpp/impl/codegen/status.h>
#include <grpcpp/support/byte_buffer.h>
#include <grpcpp/support/proto_buffer_reader.h>
#include <grpcpp/support/proto_buffer_writer.h>

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/message.h>
#include <google/protobuf/unknown_field_set.h>

#include <string>

#include "skyprobe/v1/probe_service.pb.h"

namespace skyprobe::v1 {

// Message levels a request may nest: FlowQuery, then two per Filter level,
// for 64 levels and one more (which the filter check then refuses by name),
// and the condition's own message.
inline constexpr int kRequestMessageDepth = 1 + 2 * 65 + 1;

// The unknown field a request that did not decode carries its reason in
// (reserved in probe_service.proto; the largest field number protobuf has).
inline constexpr int kDecodeErrorField = 536870911;

// protobuf decoding of `buffer` into `msg` with that depth. Bytes that are
// not such a message leave `msg` empty but for the reason, naming `type`, in
// kDecodeErrorField; the status is OK either way (see above).
inline grpc::Status DecodeRequest(grpc::ByteBuffer* buffer, google::protobuf::Message* msg,
                                  const char* type) {
  if (buffer == nullptr) return grpc::Status(grpc::StatusCode::INTERNAL, "No payload");
  grpc::Status result;
  bool decoded = false;
  {
    grpc::ProtoBufferReader reader(buffer);
    if (!reader.status().ok()) return reader.status();
    google::protobuf::io::CodedInputStream coded(&reader);
    coded.SetRecursionLimit(kRequestMessageDepth);
    decoded = msg->ParseFromCodedStream(&coded);
  }
  buffer->Clear();
  if (!decoded) {
    msg->Clear();
    msg->GetReflection()->MutableUnknownFields(msg)->AddLengthDelimited(
        kDecodeErrorField,
        std::string("the request is not a valid ") + type +
            ": malformed (not protobuf, or a string that is not UTF-8), or nested deeper than the "
            "service decodes (" +
            std::to_string(kRequestMessageDepth) +
            " message levels; a Filter may nest 64 levels, the limit is 64)");
  }
  return result;
}

// Why the request did not decode, or empty when it did.
inline std::string RequestDecodeError(const google::protobuf::Message& msg) {
  const google::protobuf::UnknownFieldSet& unknown = msg.GetReflection()->GetUnknownFields(msg);
  for (int i = 0; i < unknown.field_count(); ++i) {
    const google::protobuf::UnknownField& f = unknown.field(i);
    if (f.number() == kDecodeErrorField &&
        f.type() == google::protobuf::UnknownField::TYPE_LENGTH_DELIMITED) {
      return f.length_delimited();
    }
  }
  return std::string();
}

}  // namespace skyprobe::v1

namespace grpc {

template <>
class SerializationTraits<skyprobe::v1::FlowQuery> {
 public:
  static Status Serialize(const skyprobe::v1::FlowQuery& msg, ByteBuffer* bb, bool* own_buffer) {
    return GenericSerialize<ProtoBufferWriter, skyprobe::v1::FlowQuery>(msg, bb, own_buffer);
  }
  static Status Deserialize(ByteBuffer* buffer, skyprobe::v1::FlowQuery* msg) {
    return skyprobe::v1::DecodeRequest(buffer, msg, "skyprobe.v1.FlowQuery");
  }
};

template <>
class SerializationTraits<skyprobe::v1::FlowFilter> {
 public:
  static Status Serialize(const skyprobe::v1::FlowFilter& msg, ByteBuffer* bb, bool* own_buffer) {
    return GenericSerialize<ProtoBufferWriter, skyprobe::v1::FlowFilter>(msg, bb, own_buffer);
  }
  static Status Deserialize(ByteBuffer* buffer, skyprobe::v1::FlowFilter* msg) {
    return skyprobe::v1::DecodeRequest(buffer, msg, "skyprobe.v1.FlowFilter");
  }
};

template <>
class SerializationTraits<skyprobe::v1::AggregateRequest> {
 public:
  static Status Serialize(const skyprobe::v1::AggregateRequest& msg, ByteBuffer* bb,
                          bool* own_buffer) {
    return GenericSerialize<ProtoBufferWriter, skyprobe::v1::AggregateRequest>(msg, bb, own_buffer);
  }
  static Status Deserialize(ByteBuffer* buffer, skyprobe::v1::AggregateRequest* msg) {
    return skyprobe::v1::DecodeRequest(buffer, msg, "skyprobe.v1.AggregateRequest");
  }
};

}  // namespace grpc
