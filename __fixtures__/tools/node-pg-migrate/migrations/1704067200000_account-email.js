export const up = (pgm) => {
  pgm.addColumn('accounts', { email: { type: 'text' } });
  pgm.createIndex('accounts', 'name', { name: 'accounts_name_idx' });
};

export const down = (pgm) => {
  pgm.dropIndex('accounts', 'name', { name: 'accounts_name_idx' });
  pgm.dropColumn('accounts', 'email');
};
