"""skyprobe.v1: the messages and stubs of proto/skyprobe/v1, generated at build
time beside this file (flow_pb2, probe_service_pb2, probe_service_pb2_grpc)."""
