// The stack configuration the sample events in events/ were written for (see events/env.json).
process.env.CLUSTER_NAMES = 'prod';
process.env.AUTO_SCALING_GROUPS = 'prod:prod-ecs-asg';
process.env.LIFECYCLE_HOOK_NAME = 'ecs-drain';
process.env.HEARTBEAT_TIMEOUT = '1800';
process.env.AWS_REGION = 'us-east-1';
process.env.AWS_ACCESS_KEY_ID = 'test';
process.env.AWS_SECRET_ACCESS_KEY = 'test';
// Tests assert on log calls through spies; the lines themselves would only clutter the output.
process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
process.env.POWERTOOLS_METRICS_DISABLED = 'true';
// This machine runs Node 20; Lambda runs nodejs22.x. The SDK's notice about that says nothing to the tests.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
