import {
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  type ECSClient,
  RegisterTaskDefinitionCommand,
  type RegisterTaskDefinitionCommandInput,
  type Service,
  type Tag,
  type TaskDefinition,
  UpdateServiceCommand,
} from '@aws-sdk/client-ecs';

/** The ECS calls a deployment makes, on the client it is given; a missing answer is an error here. */
export class ServiceDeployments {
  constructor(private readonly ecs: ECSClient) {}

  /** The service, or undefined when ECS lists it in failures (MISSING). */
  async service(cluster: string, service: string): Promise<Service | undefined> {
    const output = await this.ecs.send(new DescribeServicesCommand({ cluster, services: [service] }));
    return output.services?.[0];
  }

  async taskDefinition(ref: string): Promise<{ taskDefinition: TaskDefinition; tags: Tag[] | undefined }> {
    const output = await this.ecs.send(
      new DescribeTaskDefinitionCommand({ taskDefinition: ref, include: ['TAGS'] }),
    );
    if (output.taskDefinition === undefined) throw new Error(`no task definition ${ref} in the answer`);
    return { taskDefinition: output.taskDefinition, tags: output.tags };
  }

  /** The registered revision's ARN. */
  async register(input: RegisterTaskDefinitionCommandInput): Promise<string> {
    const output = await this.ecs.send(new RegisterTaskDefinitionCommand(input));
    const arn = output.taskDefinition?.taskDefinitionArn;
    if (arn === undefined) throw new Error('RegisterTaskDefinition answered without an ARN');
    return arn;
  }

  /** The id of the deployment UpdateService started (its PRIMARY deployment), if it says. */
  async deploy(cluster: string, service: string, taskDefinition: string): Promise<string | undefined> {
    const output = await this.ecs.send(new UpdateServiceCommand({ cluster, service, taskDefinition }));
    return output.service?.deployments?.find((d) => d.status === 'PRIMARY')?.id;
  }
}
