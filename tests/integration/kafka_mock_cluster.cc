// kafka_mock_cluster.cc: hosts librdkafka's own mock Kafka cluster
// (rdkafka_mock.h) for the Kafka tests, on 127.0.0.1.
//
// Owner: a test helper process: its main thread reads commands, librdkafka's
// mock threads serve the clients (skyprobe's producer, kcat's consumer).
//
//   kafka_mock_cluster --topic flows --partitions 4   # prints "127.0.0.1:PORT"
//   then on stdin: "down" / "up" (every broker), EOF or SIGTERM to stop.
//
// The mock cluster keeps messages in memory, speaks the real protocol
// (produce, metadata, fetch, idempotent producer), and dies with the process:
// killing it is a broker going away for good.
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>

int main(int argc, char** argv) {
  std::string topic;
  int partitions = 4;
  int brokers = 1;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (i + 1 < argc && a == "--topic") {
      topic = argv[++i];
    } else if (i + 1 < argc && a == "--partitions") {
      partitions = std::atoi(argv[++i]);
    } else if (i + 1 < argc && a == "--brokers") {
      brokers = std::atoi(argv[++i]);
    } else {
      std::fprintf(stderr,
                   "usage: kafka_mock_cluster [--topic T] [--partitions N] [--brokers N]\n");
      return 2;
    }
  }
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  // The host instance only carries the cluster; keep its own logging quiet.
  rd_kafka_conf_set(conf, "log_level", "3", err, sizeof(err));
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
  if (rk == nullptr) {
    std::fprintf(stderr, "kafka_mock_cluster: rd_kafka_new: %s\n", err);
    return 1;
  }
  rd_kafka_mock_cluster_t* mc = rd_kafka_mock_cluster_new(rk, brokers);
  if (mc == nullptr) {
    std::fprintf(stderr, "kafka_mock_cluster: rd_kafka_mock_cluster_new failed\n");
    return 1;
  }
  if (!topic.empty()) {
    const rd_kafka_resp_err_t e = rd_kafka_mock_topic_create(mc, topic.c_str(), partitions, 1);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
      std::fprintf(stderr, "kafka_mock_cluster: topic %s: %s\n", topic.c_str(),
                   rd_kafka_err2str(e));
      return 1;
    }
  }
  std::printf("%s\n", rd_kafka_mock_cluster_bootstraps(mc));
  std::fflush(stdout);
  std::string line;
  while (std::getline(std::cin, line)) {
    for (int b = 1; b <= brokers; ++b) {
      if (line == "down") rd_kafka_mock_broker_set_down(mc, b);
      if (line == "up") rd_kafka_mock_broker_set_up(mc, b);
    }
    std::printf("ok %s\n", line.c_str());
    std::fflush(stdout);
  }
  rd_kafka_mock_cluster_destroy(mc);
  rd_kafka_destroy(rk);
  return 0;
}
