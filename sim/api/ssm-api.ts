import { epochSeconds } from '../clock';
import { type Parameter, SsmParameters } from '../ssm';

/**
 * SSM GetParameters and GetParameter (awsJson1_1, X-Amz-Target `AmazonSSM.<operation>`), answered
 * from the simulated parameters: unknown names come back in InvalidParameters (GetParameters) or as
 * ParameterNotFound (GetParameter); at most 10 names per call.
 */

export class SsmApiError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

type Input = Record<string, unknown>;

export const SSM_OPERATIONS: Record<string, (ssm: SsmParameters, input: Input) => Record<string, unknown>> = {
  GetParameters: (ssm, input) => {
    const names = input.Names;
    if (
      !Array.isArray(names) ||
      names.length === 0 ||
      names.length > 10 ||
      names.some((n) => typeof n !== 'string')
    ) {
      throw new SsmApiError(
        'ValidationException',
        "1 validation error detected: Value at 'names' failed to satisfy constraint: Member must have length between 1 and 10",
      );
    }
    const found: Parameter[] = [];
    const invalid: string[] = [];
    for (const name of names as string[]) {
      const parameter = ssm.get(name);
      if (parameter === undefined) invalid.push(name);
      else found.push(parameter);
    }
    return { Parameters: found.map(parameterShape), InvalidParameters: invalid };
  },
  GetParameter: (ssm, input) => {
    const name = String(input.Name ?? '');
    const parameter = ssm.get(name);
    if (parameter === undefined) throw new SsmApiError('ParameterNotFound', `Parameter ${name} not found.`);
    return { Parameter: parameterShape(parameter) };
  },
};

function parameterShape(parameter: Parameter): Record<string, unknown> {
  return {
    Name: parameter.name,
    Type: 'String',
    Value: parameter.value,
    Version: parameter.version,
    LastModifiedDate: epochSeconds(parameter.lastModified),
    ARN: SsmParameters.arn(parameter.name),
    DataType: 'text',
  };
}
