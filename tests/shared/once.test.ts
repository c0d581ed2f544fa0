import { once } from '../../shared/once';

describe('once', () => {
  it('creates nothing until first asked, then one thing however many ask at once', async () => {
    const create = jest.fn(async () => ({ client: 'ec2' }));
    const client = once(create);

    expect(create).not.toHaveBeenCalled();
    const [first, second] = await Promise.all([client(), client()]);
    const third = await client();

    expect(create).toHaveBeenCalledTimes(1);
    expect(second).toBe(first);
    expect(third).toBe(first);
  });

  it('tries again after a creation that failed, instead of failing every later run of the container', async () => {
    const create = jest
      .fn<Promise<string>, []>()
      .mockRejectedValueOnce(new Error('module not found'))
      .mockResolvedValue('client');
    const client = once(create);

    await expect(client()).rejects.toThrow('module not found');
    await expect(client()).resolves.toBe('client');
    expect(create).toHaveBeenCalledTimes(2);
  });
});
