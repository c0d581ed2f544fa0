import { designsSection, type DesignsSection, formatDesignsTable } from '../../scripts/bench/designs';
import { openTransport } from '../../sim/controller';

// `npm run bench`'s designs section, at a third of its size: the row keys issue 11 asks for, and
// ours against its targets. Where ours misses a target the test says so (test.failing) rather than
// bending the figure: it fails the day the target is met, to be turned into a plain test.

let section: DesignsSection;
let close: () => Promise<void>;
beforeAll(async () => {
  const opened = await openTransport('in-process');
  close = opened.close;
  section = await designsSection(opened.transport, { instances: 10 });
}, 60_000);
afterAll(() => close());

const ours = () => section.rows.find((row) => row.name === 'ours')!;
/** The designs that poll ECS on a timer until a host is empty. */
const POLLING = [
  'cdk-drain-hook',
  'aws-sample',
  'aws-sample-no-loop-cutoff',
  'queue-delay-heartbeat',
  'queue-delay-counting-stopping',
];

describe('the designs section of the bench', () => {
  it('has one row per design with the keys the issue names, and prints one table line per row', () => {
    expect(section.rows.map((row) => row.name)).toEqual([
      'ours',
      'cdk-drain-hook',
      'aws-sample',
      'aws-sample-no-loop-cutoff',
      'two-lambda-eventbridge',
      'queue-delay-heartbeat',
      'queue-delay-counting-stopping',
      'no-hook',
    ]);
    for (const row of section.rows) {
      expect(Object.keys(row)).toEqual(
        expect.arrayContaining([
          'name',
          'handBackSeconds',
          'ratioToFloor',
          'earlyTerminations',
          'tasksKilled',
          'drainsCutByCap',
          'apiCallsPerDrain',
          'lambdaInvocationsPerDrain',
          'ecsReadsPerIrrelevantEvent',
          'servicesBelowFloorSeconds',
        ]),
      );
      expect(Object.keys(row.handBackSeconds).sort()).toEqual(['median', 'p99']);
      expect(Object.keys(row.apiCallsPerDrain).sort()).toEqual(['autoScaling', 'ecs']);
      expect(row.ecsReadsPerIrrelevantEvent).not.toBeNull();
    }
    expect(section.setup.floorSeconds).toBeGreaterThan(0);
    expect(formatDesignsTable(section)).toHaveLength(2 + section.rows.length);
  });

  it('ours: no early termination, no task killed, and within 4x of the delivery floor', () => {
    expect(ours().earlyTerminations).toBe(0);
    expect(ours().tasksKilled).toBe(0);
    expect(ours().ratioToFloor.median).toBeLessThanOrEqual(4);
  });

  it('ours reads ECS less per drain than the designs that poll every 5 or 10 seconds', () => {
    for (const name of ['cdk-drain-hook', 'aws-sample', 'aws-sample-no-loop-cutoff'])
      expect(ours().ecsReadsPerDrain).toBeLessThan(
        section.rows.find((row) => row.name === name)!.ecsReadsPerDrain,
      );
  });

  it('the queue-delay loop made to count stopping tasks lets nothing go early, and reads ECS more per drain than ours', () => {
    const correct = section.rows.find((row) => row.name === 'queue-delay-counting-stopping')!;
    expect(correct.earlyTerminations).toBe(0);
    expect(correct.tasksKilled).toBe(0);
    // 1.6x here, where the reconciler's reads each minute are shared by 10 drains; 3.4x at 30 (README).
    expect(ours().ecsReadsPerDrain).toBeLessThan(correct.ecsReadsPerDrain);
  });

  // Not met (issue 11; 30 instances: 2.9x, median 2.4-2.8 s over seeds 1-5). After the last STOPPED
  // event's delivery (the floor), the batch waits up to the queue's 1 s batching window, then a
  // completion rests on four fresh reads (the host's counts, its stopping tasks, those tasks' states,
  // every container instance of its EC2 instance), each waiting for the task-event container's read
  // share (3.5 per second, bursts of one: 0.29 s apart). Measured (README, Performance): a 0 s window
  // alone gives 1.9x, and at 1,000 instances 2.6x the ECS reads and a 43 % longer hand-back; a 0 s
  // window with bursts of four reads (shared/aws/pacer.ts) gives 1.3x.
  it.failing('target: ours hands an instance back within 1.5x the event-delivery floor (median)', () => {
    expect(ours().ratioToFloor.median).toBeLessThanOrEqual(1.5);
  });

  // Not met (30 instances: 6.8 reads per drain, against the queue-delay loop's 6.4, which lets every
  // instance go while its tasks still stop). A completion rests on at least one ListTasks of the host
  // (ECS has no batched form) after its last stop, and a drain costs a share of the start's lookup and
  // of each batch's DescribeContainerInstances: about 3.9 per drain on the event path, 0.7 at the
  // start. The reconciler's look at every draining host each minute (a ListContainerInstances and a
  // describe per run, 1.8 per drain here) is a one-minute poll of its own.
  it.failing('target: ours reads ECS at least 10x less per drain than the best polling design', () => {
    const best = Math.min(
      ...section.rows.filter((row) => POLLING.includes(row.name)).map((row) => row.ecsReadsPerDrain),
    );
    expect(ours().ecsReadsPerDrain * 10).toBeLessThanOrEqual(best);
  });
});
