export declare const api: any;
export declare const internal: any;
export declare const components: any;
