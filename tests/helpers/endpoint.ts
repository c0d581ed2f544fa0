import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { ECSClient } from '@aws-sdk/client-ecs';
import { startApiServer } from '../../sim/api/server';
import type { World } from '../../sim/world';

/** Client options for the local endpoint at `url`: any credentials do, retries as asked (none by default). */
export function endpointConfig(url: string, maxAttempts = 1) {
  return {
    endpoint: url,
    region: 'us-east-1',
    maxAttempts,
    credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
  };
}

/** Real ECS and Auto Scaling SDK clients, with their serializers and error parsing, for the local endpoint. */
export function endpointClients(url: string, maxAttempts = 1) {
  const config = endpointConfig(url, maxAttempts);
  return { ecs: new ECSClient(config), autoScaling: new AutoScalingClient(config) };
}

/** The local endpoint serving `world`, and SDK clients for it; `close` ends all three. */
export async function servedWorld(world: World) {
  const server = await startApiServer(() => world.api);
  const { ecs, autoScaling } = endpointClients(server.url);
  return {
    server,
    ecs,
    autoScaling,
    close: async () => {
      ecs.destroy();
      autoScaling.destroy();
      await server.close();
    },
  };
}
