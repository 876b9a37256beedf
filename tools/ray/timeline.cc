// `ray timeline`: the cluster's profile events as a Chrome trace (format:
// docs/cli.md), for Perfetto (ui.perfetto.dev) or chrome://tracing.
#include <ctime>
#include <fstream>
#include <iostream>

#include "actors/common/ids.h"
#include "actors/common/protocol.h"
#include "actors/common/timeline.h"
#include "tools/ray/commands.h"
#include "tools/ray/observe_common.h"

namespace po = boost::program_options;

namespace ray::cli {

int TimelineCommand(int argc, char** argv) {
  po::options_description desc(
      "Usage: ray timeline [--address HOST:PORT] [-o FILE] [--job ID]\n"
      "Writes the cluster's timeline (tasks and their phases on the workers that ran\n"
      "them, submissions, ray.get/put/wait, transfers, ray::Profile spans) as a Chrome\n"
      "trace: open it in https://ui.perfetto.dev or chrome://tracing. Options");
  CommonOptions options;
  AddCommonOptions(&desc, &options, /*format=*/false);
  std::string output, job_hex;
  desc.add_options()("output,o", po::value(&output),
                     "where to write it (default /tmp/ray-timeline-<date>.json)")(
      "job", po::value(&job_hex), "only this job's events (its hex id)");
  ClusterClient client;
  if (int code = ParseAndConnect("timeline", desc, nullptr, argc, argv, &options, &client); code >= 0) return code;
  std::string job_id;
  if (!job_hex.empty() && !ids::FromHex(job_hex, &job_id)) {
    return Fail("timeline", "--job must be a hex job id, not '" + job_hex + "'", kExitUsage);
  }
  std::string bytes, error;
  if (!client.Events(job_id, &bytes, &error)) {
    return Fail("timeline", "the GCS did not answer: " + error, kExitFailure);
  }
  events::EventsReply reply;
  try {
    reply = proto::Decode<events::EventsReply>(bytes);
  } catch (const std::exception& e) {
    return Fail("timeline", e.what(), kExitFailure);
  }
  timeline::Options trace_options;
  trace_options.job_id = job_id;
  timeline::Summary summary;
  std::string trace = timeline::ChromeTrace(reply, trace_options, &summary);
  if (output.empty()) {
    char buf[64];
    std::time_t now = std::time(nullptr);
    std::strftime(buf, sizeof buf, "/tmp/ray-timeline-%Y-%m-%d_%H-%M-%S.json", std::localtime(&now));
    output = buf;
  }
  std::ofstream file(output, std::ios::trunc);
  file << trace;
  file.close();
  if (!file) return Fail("timeline", "cannot write " + output, kExitFailure);
  std::cout << "Trace file written to " << output << " (" << HumanBytes(trace.size()) << ", "
            << summary.spans << " spans";
  if (summary.dropped > 0) std::cout << "; " << summary.dropped << " events were dropped";
  std::cout << ").\nOpen it in https://ui.perfetto.dev or chrome://tracing." << std::endl;
  return 0;
}

}  // namespace ray::cli
