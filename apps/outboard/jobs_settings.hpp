#pragma once
// serve's `[jobs]` and `[[schedule]]` settings (docs/JOBS.md).
