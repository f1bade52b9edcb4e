// Starts npm `s3rver` (a stand-in for S3, pinned in package-lock.json) for one test suite:
//   node s3rver_launch.mjs DIR BUCKET
// on 127.0.0.1, a port the kernel picks, objects under DIR, BUCKET created. Prints
// "s3rver port N" once it listens; the test stops it by its pid. s3rver accepts any SigV4
// signature from the key id S3RVER without checking it: signatures are checked against botocore
// in tests/unit/state/s3_interop_test.cpp instead.
import S3rver from 's3rver';

const [directory, bucket] = process.argv.slice(2);
if (!directory || !bucket) {
  console.error('usage: node s3rver_launch.mjs DIR BUCKET');
  process.exit(2);
}
const server = new S3rver({
  address: '127.0.0.1',
  port: 0,
  directory,
  silent: true,
  vhostBuckets: false,
  configureBuckets: [{ name: bucket, configs: [] }],
});
const address = await server.run();
console.log(`s3rver port ${address.port}`);
