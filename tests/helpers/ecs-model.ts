import { ECS_OPERATIONS, type EcsOperation } from '../../sim/api/ecs-api';
import { Clock, Random } from '../../sim/clock';
import { type EcsOptions, EcsModel, type Task } from '../../sim/ecs';

/** A task change as the simulated ECS reported it to its observer. */
export interface RecordedTaskEvent {
  arn: string;
  at: number;
  lastStatus: string;
  desiredStatus: string;
  version: number;
  stopCode?: string;
  stoppedReason?: string;
}

/**
 * The simulated ECS alone: `hosts` container instances with room for plenty of tasks, every task
 * change and service health change recorded, and `call` to make an API call as the endpoint does.
 */
export function simulatedCluster(hosts: number, seed: number, options: EcsOptions = {}) {
  const clock = new Clock();
  const events: RecordedTaskEvent[] = [];
  const healthy: { at: number; service: string; count: number }[] = [];
  const ecs = new EcsModel(
    'test',
    clock,
    new Random(seed),
    {
      taskChanged: (task: Task) =>
        events.push({
          arn: task.arn,
          at: clock.now,
          lastStatus: task.lastStatus,
          desiredStatus: task.desiredStatus,
          version: task.version,
          stopCode: task.stopCode,
          stoppedReason: task.stoppedReason,
        }),
      serviceHealthChanged: (service) =>
        healthy.push({ at: clock.now, service: service.spec.name, count: service.healthyCount }),
    },
    options,
  );
  const instances = Array.from({ length: hosts }, (_, n) =>
    ecs.registerContainerInstance(`i-${String(n).padStart(17, '0')}`, 4096, 16384, 'ami-1'),
  );
  const call = (operation: EcsOperation, input: Record<string, unknown>) =>
    ECS_OPERATIONS[operation](
      { clusters: new Map([['test', ecs]]), taskDefinitions: ecs.taskDefinitions },
      { cluster: 'test', ...input },
    ) as Record<string, unknown>;
  return { clock, ecs, events, healthy, instances, call };
}
