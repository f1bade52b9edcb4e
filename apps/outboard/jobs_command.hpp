#pragma once
// `outboard jobs`: the job queue's operations (docs/JOBS.md).
