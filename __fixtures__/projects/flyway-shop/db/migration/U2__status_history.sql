DROP TABLE shop.status_history;
