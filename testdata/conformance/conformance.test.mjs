// Runs the Durable Streams server conformance suite against a running
// server. scripts/conformance.sh starts `dsctl serve` and sets the URL.
//
//   CONFORMANCE_TEST_URL     base URL of the server under test (required)
//   CONFORMANCE_LONGPOLL_MS  long-poll timeout hint in ms (optional; the
//                            suite defaults to 20000)

import { runConformanceTests } from "@durable-streams/server-conformance-tests"

const baseUrl = process.env.CONFORMANCE_TEST_URL

if (!baseUrl) {
  throw new Error(
    "CONFORMANCE_TEST_URL is not set: point it at a running server " +
      "(e.g. http://127.0.0.1:4437) or run scripts/conformance.sh, " +
      "which starts `dsctl serve` and sets it for you"
  )
}

const options = { baseUrl, subscriptions: false }

const rawLongPoll = process.env.CONFORMANCE_LONGPOLL_MS
if (rawLongPoll !== undefined && rawLongPoll !== "") {
  const longPollTimeoutMs = Number(rawLongPoll)
  if (!Number.isInteger(longPollTimeoutMs) || longPollTimeoutMs <= 0) {
    throw new Error(
      `CONFORMANCE_LONGPOLL_MS must be a positive integer (ms), got ${JSON.stringify(rawLongPoll)}`
    )
  }
  options.longPollTimeoutMs = longPollTimeoutMs
}

runConformanceTests(options)
