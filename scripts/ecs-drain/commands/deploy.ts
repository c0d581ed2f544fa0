import { Option } from 'commander';
import { ServiceDeployments } from '../aws/service-deployments';
import { type CommandRegistration, wholeNumber } from '../command';
import { CliError, EXIT } from '../context';
import { waitUntil } from '../progress';
import { deployState, registrationFor, revisionOf } from './deploy-decision';

interface DeployOptions {
  cluster: string;
  service: string;
  image: string;
  container?: string;
  timeout: number;
  pollInterval: number;
}

/**
 * `ecs-drain deploy`: the service's task definition again with a new image, deployed and waited
 * for. Observe (the service, its task definition), decide (deploy-decision.ts), act (register,
 * UpdateService), then poll DescribeServices until ECS says COMPLETED, FAILED or rolled back.
 */
export const deploy: CommandRegistration = (program, run) => {
  program
    .command('deploy')
    .description('deploy a new image to a service (a new revision of its task definition) and wait for it')
    .requiredOption('--cluster <name>', 'the ECS cluster')
    .requiredOption('--service <name>', 'the service')
    .requiredOption(
      '--image <image>',
      'the new image, e.g. 123456789012.dkr.ecr.us-east-1.amazonaws.com/web:2',
    )
    .option('--container <name>', 'the container whose image changes (required when there are several)')
    .addOption(
      new Option('--timeout <seconds>', 'how long to wait for the deployment')
        .argParser(wholeNumber(1, 86400))
        .default(1800),
    )
    .addOption(
      new Option('--poll-interval <seconds>', 'seconds between two looks at the service')
        .argParser(wholeNumber(1, 300))
        .default(10),
    )
    .action(
      run(async (context, options: DeployOptions) => {
        const started = Date.now();
        const calls = new ServiceDeployments(context.clients().ecs);
        const { cluster, service: name, image } = options;

        const service = await calls.service(cluster, name);
        if (service?.taskDefinition === undefined)
          throw new CliError(EXIT.notFound, `no service "${name}" in cluster "${cluster}"`);
        const previous = service.taskDefinition;
        const { taskDefinition, tags } = await calls.taskDefinition(previous);
        const registration = registrationFor(taskDefinition, tags, image, options.container);
        if (!registration.ok)
          // Nothing was changed either way; only the reads to find the containers were made.
          throw new CliError(
            registration.why === 'unknown' ? EXIT.notFound : EXIT.usage,
            registration.reason,
          );

        const registered = await calls.register(registration.input);
        const deploymentId = await calls.deploy(cluster, name, registered);
        context.note(
          `${name}: deploying ${revisionOf(registered)} (was ${revisionOf(previous)}), image ${image}`,
        );
        if (service.deploymentConfiguration?.deploymentCircuitBreaker?.enable !== true)
          context.note(
            `${name}: warning: no deployment circuit breaker: ECS retries a failing image until --timeout (${options.timeout} s), then it is yours to roll back`,
          );

        const summary = (outcome: string) => ({
          cluster,
          service: name,
          image,
          container: registration.container,
          taskDefinition: registered,
          previousTaskDefinition: previous,
          outcome,
          seconds: Math.round((Date.now() - started) / 1000),
        });
        let state;
        try {
          state = await waitUntil(
            context,
            {
              what: `${name} ${revisionOf(registered)}`,
              timeoutSeconds: options.timeout,
              intervalSeconds: options.pollInterval,
            },
            async () => {
              const now = await calls.service(cluster, name);
              if (now === undefined) throw new CliError(EXIT.notFound, `service "${name}" is gone`);
              const seen = deployState(now, registered, deploymentId);
              return seen.finished
                ? { finished: true, result: seen }
                : {
                    finished: false,
                    done: seen.running,
                    total: seen.desired,
                    status: `running, ${seen.failed} failed`,
                  };
            },
          );
        } catch (error) {
          if (error instanceof CliError && error.exitCode === EXIT.timedOut) {
            context.note(`ecs-drain deploy: ${error.message}`);
            if (context.options.json) context.result(summary('timed-out'), () => []);
            return EXIT.timedOut;
          }
          throw error;
        }

        if (state.outcome === 'completed') {
          context.result(summary('completed'), () => [
            `${name}: ${revisionOf(registered)} serves (${image})`,
          ]);
          return EXIT.ok;
        }
        const what = state.outcome === 'rolled-back' ? 'rolled back' : 'failed';
        context.note(
          `ecs-drain deploy: ${revisionOf(registered)} ${what}: ${state.reason.replace(/\.$/, '')}; ${state.serving} serves`,
        );
        if (context.options.json) context.result(summary(state.outcome), () => []);
        return EXIT.failed;
      }),
    );
};
