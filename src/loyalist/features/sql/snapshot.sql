{#- The customer snapshot at cut-off T: one row per customer with >= 1 completed order in W = (T - lookback, T].
    Every column is defined in loyalist/features/columns.py; this text implements those definitions.

    Portable SQL (DuckDB and Spark SQL run this text): standard SQL with the types STRING, DOUBLE, BIGINT,
    BOOLEAN, TIMESTAMP and DATE, plus the functions days_between, day_diff, hours_between and month_index
    (loyalist/features/engine.py), named parameters written :name. Rendered by Jinja (the has_* switches, and ordered:
    ORDER BY customer_id, off when the caller sorts the streamed result itself; presequenced: the orders table
    already carries prev_date and customer_first_date of each completed order, see build_snapshots).

    Parameters: :as_of = the cut-off day D; :t = T = the end of day D (D 23:59:59.999999); :w_start = T - lookback_days; :trend_start = T - trend_window_days;
    :trend_prev_start = T - 2 * trend_window_days; :trend_days = trend_window_days; :freq_min_days.
    Tables: orders(customer_id, order_date, amount, status[, margin][, category][, product_id]); order_lines(customer_id,
    order_date, status[, category][, product_id]) for the ranges when orders has neither (ranges_from); customers(customer_id, industry, size,
    region, signup_date); tickets(customer_id, created_at, kind, stage, resolved_at); surveys(customer_id,
    answered_at, nps_score, satisfaction, mentions_brand).
    Time rule: every CTE that reads a table filters on its event date <= :t first. -#}
WITH
-- Completed orders dated <= T, each with the previous completed order of the same customer and the customer's
-- first order (one window pass over the sorted orders).
sequenced AS (
    SELECT
        customer_id,
        order_date,
        amount,
        {{ "margin" if has_margin else "CAST(NULL AS DOUBLE) AS margin" }},
{% if presequenced %}
        -- computed once for every cut-off by the caller (loyalist.features.snapshot.build_snapshots): the previous
        -- completed order and the first one are dated <= the order itself, so they are the same at every T
        prev_date,
        customer_first_date
{% else %}
        LAG(order_date) OVER (PARTITION BY customer_id ORDER BY order_date) AS prev_date,
        MIN(order_date) OVER (PARTITION BY customer_id) AS customer_first_date
{% endif %}
    FROM orders
    WHERE order_date <= :t AND status = 'completed'
),
-- Per order: in W; the first order of a calendar month among the orders in W; the gap in days to the previous
-- distinct order day when both days are in W (orders are in time order, so the orders in W are a suffix);
-- the first order of a distinct order day; on the customer's first order day.
flagged AS (
    SELECT
        customer_id, order_date, amount, margin, prev_date,
        order_date > :w_start AS in_w,
        order_date > :w_start AND (
            prev_date IS NULL OR prev_date <= :w_start
            OR month_index(CAST(order_date AS DATE)) <> month_index(CAST(prev_date AS DATE))
        ) AS new_month_in_w,
        CASE WHEN prev_date > :w_start AND CAST(order_date AS DATE) <> CAST(prev_date AS DATE)
            THEN day_diff(CAST(prev_date AS DATE), CAST(order_date AS DATE)) END AS gap_in_w,
        prev_date IS NULL OR CAST(order_date AS DATE) <> CAST(prev_date AS DATE) AS new_day,
        CAST(order_date AS DATE) = CAST(customer_first_date AS DATE) AS on_first_day
    FROM sequenced
),
behaviour AS (
    SELECT
        customer_id,
        COUNT(*) AS n_orders_total,
        MIN(order_date) AS first_order_date,
        MAX(order_date) AS last_order_date,
        MIN(CASE WHEN in_w THEN order_date END) AS first_order_in_w,
        COUNT(CASE WHEN in_w THEN 1 END) AS n_orders,
        SUM(CASE WHEN in_w THEN amount END) AS monetary_total,
        STDDEV_SAMP(CASE WHEN in_w THEN amount END) AS monetary_std,
        SUM(CASE WHEN in_w THEN margin END) AS margin_total,
        SUM(CASE WHEN order_date > :trend_start THEN amount ELSE 0.0 END) AS spend_last,
        SUM(CASE WHEN order_date > :trend_prev_start AND order_date <= :trend_start THEN amount ELSE 0.0 END)
            AS spend_prev,
        COUNT(CASE WHEN new_month_in_w THEN 1 END) AS active_months,
        COUNT(gap_in_w) AS n_gaps,
        SUM(gap_in_w) AS gap_sum,
        SUM(gap_in_w * gap_in_w) AS gap_sq_sum,
        MAX(CASE WHEN gap_in_w IS NOT NULL THEN prev_date END) AS second_last_date_in_w,
        COUNT(CASE WHEN new_day THEN 1 END) AS n_order_days,
        SUM(CASE WHEN on_first_day THEN 0.0 ELSE amount END) AS repeat_day_amount,
        COUNT(CASE WHEN order_date > :trend_start THEN 1 END) AS orders_last,
        COUNT(CASE WHEN order_date > :trend_prev_start AND order_date <= :trend_start THEN 1 END) AS orders_prev,
        AVG(CASE WHEN order_date > :trend_start THEN amount END) AS amount_mean_last,
        AVG(CASE WHEN in_w AND order_date <= :trend_start THEN amount END) AS amount_mean_before,
        COUNT(CASE WHEN in_w AND order_date <= :trend_start THEN 1 END) AS orders_before
    FROM flagged
    GROUP BY customer_id
),
-- Returned and cancelled orders in W.
other_orders AS (
    SELECT
        customer_id,
        COUNT(CASE WHEN status = 'returned' THEN 1 END) AS n_returns,
        COUNT(CASE WHEN status = 'cancelled' THEN 1 END) AS n_cancelled
    FROM orders
    WHERE order_date <= :t AND order_date > :w_start AND status IN ('returned', 'cancelled')
    GROUP BY customer_id
)
{% if has_category %}
-- Early warning: per customer and category (NULL included, as one group) the completed lines in W, before the
-- trend window, in it and in the one before. One grouping serves the category range (distinct categories in W, in
-- the last trend window and in the one before: COUNT(DISTINCT) without a distinct aggregate per window) and the
-- customer's main category (most lines in W before the trend window; ties: the first category in alphabetical
-- order) with its share of the lines before the trend window and in it (a customer winding down narrows to it).
, category_counts AS (
    SELECT
        customer_id, category,
        COUNT(CASE WHEN order_date <= :trend_start THEN 1 END) AS lines_before,
        COUNT(CASE WHEN order_date > :trend_start THEN 1 END) AS lines_last,
        COUNT(CASE WHEN order_date > :trend_prev_start AND order_date <= :trend_start THEN 1 END) AS lines_prev
    FROM {{ ranges_from }}
    WHERE order_date <= :t AND order_date > :w_start AND status = 'completed'
    GROUP BY customer_id, category
),
category_ranges AS (
    SELECT
        customer_id,
        COUNT(category) AS n_categories,
        COUNT(CASE WHEN lines_last > 0 THEN category END) AS categories_last,
        COUNT(CASE WHEN lines_prev > 0 THEN category END) AS categories_prev
    FROM category_counts
    GROUP BY customer_id
),
category_ranked AS (
    SELECT
        customer_id, lines_before, lines_last,
        SUM(lines_before) OVER (PARTITION BY customer_id) AS all_before,
        SUM(lines_last) OVER (PARTITION BY customer_id) AS all_last,
        ROW_NUMBER() OVER (PARTITION BY customer_id ORDER BY lines_before DESC, category) AS category_rank
    FROM category_counts
    WHERE category IS NOT NULL
),
main_category AS (
    SELECT
        customer_id,
        CAST(lines_before AS DOUBLE) / all_before AS share_before,
        CASE WHEN all_last > 0 THEN CAST(lines_last AS DOUBLE) / all_last END AS share_last
    FROM category_ranked
    WHERE category_rank = 1 AND all_before > 0
)
{% endif %}
{% if has_product %}
-- Early warning: the range of products bought (distinct products in W, in the last trend window and in the one
-- before), from one grouping per customer and product (NULL included, as one group).
, product_ranges AS (
    SELECT
        customer_id,
        COUNT(product_id) AS n_products,
        COUNT(CASE WHEN lines_last > 0 THEN product_id END) AS products_last,
        COUNT(CASE WHEN lines_prev > 0 THEN product_id END) AS products_prev
    FROM (
        SELECT
            customer_id, product_id,
            COUNT(CASE WHEN order_date > :trend_start THEN 1 END) AS lines_last,
            COUNT(CASE WHEN order_date > :trend_prev_start AND order_date <= :trend_start THEN 1 END) AS lines_prev
        FROM {{ ranges_from }}
        WHERE order_date <= :t AND order_date > :w_start AND status = 'completed'
        GROUP BY customer_id, product_id
    ) AS product_counts
    GROUP BY customer_id
)
{% endif %}
{% if has_customers %}
, profile AS (
    SELECT
        customer_id, industry, size, region,
        CASE WHEN signup_date <= :t THEN signup_date END AS signup_date
    FROM customers
)
{% endif %}
{% if has_tickets %}
-- Tickets created in W.
, tickets_w AS (
    SELECT customer_id, created_at, kind, stage, resolved_at
    FROM tickets
    WHERE created_at <= :t AND created_at > :w_start
),
service AS (
    SELECT
        customer_id,
        COUNT(*) AS n_tickets,
        COUNT(CASE WHEN kind = 'complaint' THEN 1 END) AS n_complaints,
        COUNT(CASE WHEN kind = 'complaint' AND created_at > :trend_start THEN 1 END) AS n_complaints_recent,
        AVG(CASE WHEN resolved_at <= :t THEN hours_between(created_at, resolved_at) END) AS resolution_hours_mean,
        COUNT(CASE WHEN resolved_at IS NULL OR resolved_at > :t THEN 1 END) AS open_tickets
    FROM tickets_w
    GROUP BY customer_id
),
complaint_stages AS (
    SELECT
        customer_id, stage,
        ROW_NUMBER() OVER (PARTITION BY customer_id ORDER BY COUNT(*) DESC, stage) AS stage_rank
    FROM tickets_w
    WHERE kind = 'complaint' AND stage IS NOT NULL
    GROUP BY customer_id, stage
),
-- Early warning: complaints and resolution times in the last trend window against the one before; slow tickets
-- (resolved after more than 72 hours, or open for more than 72 hours at T).
service_trend AS (
    SELECT
        customer_id,
        COUNT(CASE WHEN kind = 'complaint' AND created_at > :trend_prev_start AND created_at <= :trend_start
            THEN 1 END) AS n_complaints_prev,
        MAX(CASE WHEN kind = 'complaint' THEN created_at END) AS last_complaint_at,
        AVG(CASE WHEN created_at > :trend_start AND resolved_at <= :t THEN hours_between(created_at, resolved_at) END)
            AS resolution_hours_last,
        AVG(CASE WHEN created_at > :trend_prev_start AND created_at <= :trend_start AND resolved_at <= :t
            THEN hours_between(created_at, resolved_at) END) AS resolution_hours_prev,
        COUNT(CASE WHEN (resolved_at <= :t AND hours_between(created_at, resolved_at) > 72)
            OR ((resolved_at IS NULL OR resolved_at > :t) AND hours_between(created_at, :t) > 72) THEN 1 END)
            AS n_slow_tickets
    FROM tickets_w
    GROUP BY customer_id
),
-- Early warning: the whole service history <= T (the experience a customer remembers is not only the last year's).
service_total AS (
    SELECT
        customer_id,
        COUNT(CASE WHEN kind = 'complaint' THEN 1 END) AS complaints_total,
        COUNT(CASE WHEN (resolved_at <= :t AND hours_between(created_at, resolved_at) > 72)
            OR ((resolved_at IS NULL OR resolved_at > :t) AND hours_between(created_at, :t) > 72) THEN 1 END)
            AS slow_tickets_total
    FROM tickets
    WHERE created_at <= :t
    GROUP BY customer_id
)
{% endif %}
{% if has_surveys %}
-- Survey answers dated in W.
, answers AS (
    SELECT customer_id, nps_score, satisfaction, mentions_brand
    FROM surveys
    WHERE answered_at <= :t AND answered_at > :w_start
),
attitude AS (
    SELECT
        customer_id,
        COUNT(*) AS n_survey_responses,
        CAST(100 * (COUNT(CASE WHEN nps_score >= 9 THEN 1 END) - COUNT(CASE WHEN nps_score <= 6 THEN 1 END))
             AS DOUBLE) / NULLIF(COUNT(nps_score), 0) AS nps,
        AVG(CAST(satisfaction AS DOUBLE)) AS satisfaction_mean,
        AVG(CASE WHEN mentions_brand THEN CAST(1 AS DOUBLE) WHEN NOT mentions_brand THEN CAST(0 AS DOUBLE) END)
            AS brand_mention_rate
    FROM answers
    GROUP BY customer_id
),
-- Early warning: the answers of the latest answer day in W against the customer's earlier answers in W.
answer_days AS (
    SELECT
        customer_id, nps_score, CAST(answered_at AS DATE) AS answer_day,
        MAX(CAST(answered_at AS DATE)) OVER (PARTITION BY customer_id) AS last_answer_day
    FROM surveys
    WHERE answered_at <= :t AND answered_at > :w_start AND nps_score IS NOT NULL
),
nps_moves AS (
    SELECT
        customer_id,
        AVG(CASE WHEN answer_day = last_answer_day THEN nps_score END) AS nps_last,
        AVG(CASE WHEN answer_day < last_answer_day THEN nps_score END) AS nps_before
    FROM answer_days
    GROUP BY customer_id
),
-- Early warning: NPS answers of the last two trend windows against every earlier answer, and detractor answers
-- (0-6) over the whole history <= T.
nps_recent_moves AS (
    SELECT
        customer_id,
        AVG(CASE WHEN answered_at > :trend_prev_start THEN nps_score END) AS nps_recent,
        AVG(CASE WHEN answered_at <= :trend_prev_start THEN nps_score END) AS nps_earlier,
        COUNT(CASE WHEN nps_score <= 6 THEN 1 END) AS detractor_answers_total
    FROM surveys
    WHERE answered_at <= :t AND nps_score IS NOT NULL
    GROUP BY customer_id
)
{% endif %}
, population AS (
    SELECT
        b.*,
        month_index(:t) - month_index(b.first_order_in_w) + 1 AS observed_months,
        GREATEST(days_between(GREATEST(b.first_order_date, :w_start), :t), :freq_min_days) AS observed_days,
        days_between(b.last_order_date, :t) AS recency_days,
        COALESCE(x.n_returns, 0) AS n_returns,
        COALESCE(x.n_cancelled, 0) AS n_cancelled
    FROM behaviour AS b
    LEFT JOIN other_orders AS x ON x.customer_id = b.customer_id
    WHERE b.n_orders > 0
)
SELECT
    p.customer_id,
    CAST(:as_of AS TIMESTAMP) AS as_of,
{% if has_customers %}
    c.industry,
    c.size,
    c.region,
{% else %}
    CAST(NULL AS STRING) AS industry,
    CAST(NULL AS STRING) AS size,
    CAST(NULL AS STRING) AS region,
{% endif %}
    CASE WHEN p.observed_months >= 2
        THEN CAST(p.active_months - 1 AS DOUBLE) / (p.observed_months - 1) END AS repurchase_rate,
    CASE WHEN p.n_orders >= 2 AND p.monetary_total > 0
        THEN GREATEST(0.0, LEAST(1.0, 1.0 - p.monetary_std / (p.monetary_total / p.n_orders))) END
        AS order_value_stability,
    CAST(p.n_orders AS DOUBLE) * 365.25 / p.observed_days AS purchase_frequency,
{% if has_surveys %}
    a.nps,
{% else %}
    CAST(NULL AS DOUBLE) AS nps,
{% endif %}
{% if has_tickets %}
    LEAST(1.0, CAST(COALESCE(s.n_complaints, 0) AS DOUBLE) / p.n_orders) AS complaint_rate,
{% else %}
    CAST(NULL AS DOUBLE) AS complaint_rate,
{% endif %}
    p.n_orders,
    p.n_orders_total,
    p.monetary_total,
    p.monetary_total / p.n_orders AS monetary_mean,
    p.monetary_std,
    p.margin_total,
    p.first_order_date,
    p.last_order_date,
    p.recency_days,
{% if has_customers %}
    days_between(LEAST(p.first_order_date, COALESCE(c.signup_date, p.first_order_date)), :t) AS tenure_days,
{% else %}
    days_between(p.first_order_date, :t) AS tenure_days,
{% endif %}
    p.spend_last,
    p.spend_prev,
    CASE WHEN p.spend_last + p.spend_prev = 0 THEN 0.0
        ELSE (p.spend_last - p.spend_prev) / (p.spend_last + p.spend_prev) END AS spend_trend,
    CAST(p.gap_sum AS DOUBLE) / NULLIF(p.n_gaps, 0) AS ipt_mean,
    CASE WHEN p.n_gaps >= 2 THEN sqrt(CAST(p.n_gaps * p.gap_sq_sum - p.gap_sum * p.gap_sum AS DOUBLE)
        / (p.n_gaps * (p.n_gaps - 1))) END AS ipt_std,
    CAST(day_diff(CAST(p.second_last_date_in_w AS DATE), CAST(p.last_order_date AS DATE)) AS DOUBLE) AS ipt_last,
    p.recency_days / (CAST(p.gap_sum AS DOUBLE) / NULLIF(p.n_gaps, 0)) AS recency_ipt_ratio,
    p.n_returns,
    CAST(p.n_returns AS DOUBLE) / (p.n_orders + p.n_returns) AS return_rate,
    p.n_cancelled,
{% if has_tickets %}
    CAST(COALESCE(s.n_tickets, 0) AS DOUBLE) AS n_tickets,
    CAST(COALESCE(s.n_complaints, 0) AS DOUBLE) AS n_complaints,
    CAST(COALESCE(s.n_complaints_recent, 0) AS DOUBLE) AS n_complaints_recent,
    s.resolution_hours_mean,
    CAST(COALESCE(s.open_tickets, 0) AS DOUBLE) AS open_tickets,
    cs.stage AS top_complaint_stage,
{% else %}
    CAST(NULL AS DOUBLE) AS n_tickets,
    CAST(NULL AS DOUBLE) AS n_complaints,
    CAST(NULL AS DOUBLE) AS n_complaints_recent,
    CAST(NULL AS DOUBLE) AS resolution_hours_mean,
    CAST(NULL AS DOUBLE) AS open_tickets,
    CAST(NULL AS STRING) AS top_complaint_stage,
{% endif %}
{% if has_surveys %}
    CAST(COALESCE(a.n_survey_responses, 0) AS DOUBLE) AS n_survey_responses,
    a.satisfaction_mean,
    a.brand_mention_rate,
{% else %}
    CAST(NULL AS DOUBLE) AS n_survey_responses,
    CAST(NULL AS DOUBLE) AS satisfaction_mean,
    CAST(NULL AS DOUBLE) AS brand_mention_rate,
{% endif %}
    p.n_order_days - 1 AS btyd_frequency,
    day_diff(CAST(p.first_order_date AS DATE), CAST(p.last_order_date AS DATE)) AS btyd_recency,
    days_between(CAST(CAST(p.first_order_date AS DATE) AS TIMESTAMP), :t) AS btyd_T,
    CASE WHEN p.n_order_days > 1 THEN p.repeat_day_amount / (p.n_order_days - 1) ELSE 0.0 END AS btyd_monetary,
    -- early warning (definitions: columns.py)
    CASE WHEN p.orders_last + p.orders_prev = 0 THEN 0.0
        ELSE CAST(p.orders_last - p.orders_prev AS DOUBLE) / (p.orders_last + p.orders_prev) END AS order_trend,
    CAST(day_diff(CAST(p.second_last_date_in_w AS DATE), CAST(p.last_order_date AS DATE)) AS DOUBLE)
        / (CAST(p.gap_sum AS DOUBLE) / NULLIF(p.n_gaps, 0)) AS ipt_last_ratio,
{% if has_category %}
    CAST(rc.n_categories AS DOUBLE) AS n_categories,
    CAST(rc.categories_last - rc.categories_prev AS DOUBLE) / NULLIF(rc.n_categories, 0) AS category_range_trend,
{% else %}
    CAST(NULL AS DOUBLE) AS n_categories,
    CAST(NULL AS DOUBLE) AS category_range_trend,
{% endif %}
{% if has_product %}
    CAST(rp.products_last - rp.products_prev AS DOUBLE) / NULLIF(rp.n_products, 0) AS product_range_trend,
{% else %}
    CAST(NULL AS DOUBLE) AS product_range_trend,
{% endif %}
{% if has_tickets %}
    CAST(COALESCE(s.n_complaints_recent, 0) - COALESCE(st.n_complaints_prev, 0) AS DOUBLE) AS complaint_trend,
    CAST(days_between(st.last_complaint_at, :t) AS DOUBLE) AS days_since_complaint,
    CAST(COALESCE(st.n_slow_tickets, 0) AS DOUBLE) AS n_slow_tickets,
    st.resolution_hours_last - st.resolution_hours_prev AS resolution_hours_trend,
{% else %}
    CAST(NULL AS DOUBLE) AS complaint_trend,
    CAST(NULL AS DOUBLE) AS days_since_complaint,
    CAST(NULL AS DOUBLE) AS n_slow_tickets,
    CAST(NULL AS DOUBLE) AS resolution_hours_trend,
{% endif %}
{% if has_surveys %}
    nm.nps_last,
    nm.nps_last - nm.nps_before AS nps_change,
{% else %}
    CAST(NULL AS DOUBLE) AS nps_last,
    CAST(NULL AS DOUBLE) AS nps_change,
{% endif %}
    CASE WHEN p.amount_mean_last > 0 AND p.amount_mean_before > 0
        THEN p.amount_mean_last / p.amount_mean_before END AS amount_ratio,
    CASE WHEN p.orders_before > 0 AND days_between(GREATEST(p.first_order_date, :w_start), :trend_start)
            >= :trend_days
        THEN (CAST(p.orders_last AS DOUBLE) / :trend_days)
            / (CAST(p.orders_before AS DOUBLE) / days_between(GREATEST(p.first_order_date, :w_start), :trend_start))
        END AS order_rate_ratio,
{% if has_tickets %}
    CAST(COALESCE(sv.complaints_total, 0) AS DOUBLE) AS complaints_total,
    CAST(COALESCE(sv.slow_tickets_total, 0) AS DOUBLE) AS slow_tickets_total,
{% else %}
    CAST(NULL AS DOUBLE) AS complaints_total,
    CAST(NULL AS DOUBLE) AS slow_tickets_total,
{% endif %}
{% if has_surveys %}
    CAST(COALESCE(nr.detractor_answers_total, 0) AS DOUBLE) AS detractor_answers_total,
    nr.nps_recent,
    nr.nps_recent - nr.nps_earlier AS nps_recent_change,
{% else %}
    CAST(NULL AS DOUBLE) AS detractor_answers_total,
    CAST(NULL AS DOUBLE) AS nps_recent,
    CAST(NULL AS DOUBLE) AS nps_recent_change,
{% endif %}
{% if has_category %}
    mc.share_last AS main_category_share,
    mc.share_last - mc.share_before AS main_category_share_trend
{% else %}
    CAST(NULL AS DOUBLE) AS main_category_share,
    CAST(NULL AS DOUBLE) AS main_category_share_trend
{% endif %}
FROM population AS p
{% if has_customers %}
LEFT JOIN profile AS c ON c.customer_id = p.customer_id
{% endif %}
{% if has_tickets %}
LEFT JOIN service AS s ON s.customer_id = p.customer_id
LEFT JOIN complaint_stages AS cs ON cs.customer_id = p.customer_id AND cs.stage_rank = 1
LEFT JOIN service_trend AS st ON st.customer_id = p.customer_id
LEFT JOIN service_total AS sv ON sv.customer_id = p.customer_id
{% endif %}
{% if has_surveys %}
LEFT JOIN attitude AS a ON a.customer_id = p.customer_id
LEFT JOIN nps_moves AS nm ON nm.customer_id = p.customer_id
LEFT JOIN nps_recent_moves AS nr ON nr.customer_id = p.customer_id
{% endif %}
{% if has_category %}
LEFT JOIN category_ranges AS rc ON rc.customer_id = p.customer_id
LEFT JOIN main_category AS mc ON mc.customer_id = p.customer_id
{% endif %}
{% if has_product %}
LEFT JOIN product_ranges AS rp ON rp.customer_id = p.customer_id
{% endif %}
{% if ordered %}
ORDER BY p.customer_id
{% endif %}
